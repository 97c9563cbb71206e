import type { Events, StatusEvent, TaskCallbacks } from '../../ports.ts';

class TaskTimedOut extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskTimedOut';
  }
}

/** Step Functions' task tokens, in process: a waiting task is a pending promise. */
export class LocalCallbacks implements TaskCallbacks {
  private readonly waiting = new Map<string, { resolve: (output: unknown) => void; reject: (error: Error) => void }>();

  /** Waits for SendTaskSuccess/Failure on `token`, or rejects with States.Timeout after `timeoutMs`. */
  wait(token: string, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(token);
        reject(Object.assign(new Error('the task timed out waiting for its callback'), { name: 'States.Timeout' }));
      }, timeoutMs);
      this.waiting.set(token, {
        resolve: (output) => {
          clearTimeout(timer);
          resolve(output);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Stops waiting on a token (the task failed before it could be called back). */
  cancel(token: string): void {
    this.waiting.delete(token);
  }

  async succeed(token: string, output: unknown): Promise<void> {
    const waiter = this.take(token);
    // As the service does, the output crosses a JSON boundary.
    waiter.resolve(JSON.parse(JSON.stringify(output ?? {})));
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.take(token).reject(Object.assign(new Error(cause), { name: error }));
  }

  private take(token: string) {
    const waiter = this.waiting.get(token);
    if (!waiter) throw new TaskTimedOut('Task Timed Out: the execution no longer waits for this token');
    this.waiting.delete(token);
    return waiter;
  }
}

/** EventBridge, in process: keeps every event and tells listeners. */
export class LocalEvents implements Events {
  readonly received: StatusEvent[] = [];
  private readonly listeners: ((event: StatusEvent) => void)[] = [];

  async put(event: StatusEvent): Promise<void> {
    const copy = JSON.parse(JSON.stringify(event)) as StatusEvent;
    this.received.push(copy);
    for (const listener of this.listeners) listener(copy);
  }

  onEvent(listener: (event: StatusEvent) => void): void {
    this.listeners.push(listener);
  }
}
