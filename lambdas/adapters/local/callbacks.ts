import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Events, RegionalEvent, StatusEvent, TaskCallbacks } from '#ports';

/** A callback written to the inbox by another process: SendTaskSuccess or SendTaskFailure. */
type Delivered = { readonly output: unknown } | { readonly error: string; readonly cause: string };

/** How often a waiting process looks in its inbox. */
const INBOX_POLL_MS = 100;

class TaskTimedOut extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskTimedOut';
  }
}

/**
 * Step Functions' task tokens, locally: a waiting task is a pending promise.
 * With an inbox folder, other processes (`deployctl approve --local`, the
 * local API) call back through files named by token, as SendTaskSuccess and
 * SendTaskFailure reach the service from anywhere.
 */
export class LocalCallbacks implements TaskCallbacks {
  private readonly waiting = new Map<
    string,
    { resolve: (output: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly inbox?: string) {
    if (inbox) mkdirSync(inbox, { recursive: true });
  }

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
        timer,
      });
      this.watchInbox();
    });
  }

  /** Picks up callbacks other processes wrote for the tokens waited on here. */
  private watchInbox(): void {
    if (!this.inbox || this.poller) return;
    const inbox = this.inbox;
    this.poller = setInterval(() => {
      for (const token of [...this.waiting.keys()]) {
        const file = path.join(inbox, `${token}.json`);
        if (!existsSync(file)) continue;
        const delivered = JSON.parse(readFileSync(file, 'utf8')) as Delivered;
        rmSync(file, { force: true });
        const waiter = this.waiting.get(token);
        this.waiting.delete(token);
        if ('error' in delivered) waiter?.reject(Object.assign(new Error(delivered.cause), { name: delivered.error }));
        else waiter?.resolve(delivered.output);
      }
      if (this.waiting.size === 0) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    }, INBOX_POLL_MS);
  }

  /** Writes a callback for a token another process waits on (whole file or nothing). */
  private post(token: string, delivered: Delivered): void {
    if (!this.inbox || !/^[A-Za-z0-9-]{1,128}$/.test(token)) {
      throw new TaskTimedOut('Task Timed Out: the execution no longer waits for this token');
    }
    const file = path.join(this.inbox, `${token}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(delivered));
    renameSync(`${file}.tmp`, file);
  }

  /** Stops every wait (the executions were stopped): no timer or poller keeps the process alive. */
  cancelAll(): void {
    for (const token of [...this.waiting.keys()]) this.cancel(token);
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  /** Stops waiting on a token (the task failed before it could be called back). */
  cancel(token: string): void {
    const waiter = this.waiting.get(token);
    if (waiter) clearTimeout(waiter.timer);
    this.waiting.delete(token);
  }

  async succeed(token: string, output: unknown): Promise<void> {
    // As the service does, the output crosses a JSON boundary.
    const json: unknown = JSON.parse(JSON.stringify(output ?? {}));
    if (!this.waiting.has(token) && this.inbox) return this.post(token, { output: json });
    this.take(token).resolve(json);
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    if (!this.waiting.has(token) && this.inbox) return this.post(token, { error, cause });
    this.take(token).reject(Object.assign(new Error(cause), { name: error }));
  }

  private take(token: string) {
    const waiter = this.waiting.get(token);
    if (!waiter) throw new TaskTimedOut('Task Timed Out: the execution no longer waits for this token');
    this.waiting.delete(token);
    return waiter;
  }
}

/**
 * EventBridge, in process: keeps every status event and tells listeners. The
 * multi-region events go to their own listeners (the local bus between regions).
 */
export class LocalEvents implements Events {
  readonly received: StatusEvent[] = [];
  private readonly listeners: ((event: StatusEvent) => void)[] = [];
  private readonly regionalListeners: ((event: RegionalEvent) => void)[] = [];

  async put(event: StatusEvent | RegionalEvent): Promise<void> {
    if (event.detailType !== 'Deployment Status Change') {
      const copy = JSON.parse(JSON.stringify(event)) as RegionalEvent;
      for (const listener of this.regionalListeners) listener(copy);
      return;
    }
    const copy = JSON.parse(JSON.stringify(event)) as StatusEvent;
    this.received.push(copy);
    for (const listener of this.listeners) listener(copy);
  }

  onEvent(listener: (event: StatusEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Multi-region events ("Regional Deployment Requested" / "Completed"), as the local bus routes them. */
  onRegionalEvent(listener: (event: RegionalEvent) => void): void {
    this.regionalListeners.push(listener);
  }
}
