import { UnknownStrategy } from '#core/errors.ts';
import type { Executions } from '#ports';
import { executionArn, type LocalEventListener, type LocalInterpreter, type LocalRun } from './interpreter.ts';

/** What an execution's start is told about it (the local API's bookkeeping, progress lines). */
export interface ExecutionWatch {
  /** The interpreter's state events of this execution (statistics, never progress). */
  readonly onEvent?: LocalEventListener;
}

/**
 * StartExecution for local mode: runs the machine in this process, in the
 * background, on the interpreter. As in Step Functions, a second start with
 * the same name and input answers the running (or finished) execution; the
 * same name with another input is refused; a machine this interpreter does not
 * have is refused with UnknownStrategy, as the AWS adapter refuses one the
 * stack has not.
 */
export class LocalExecutions implements Executions {
  private readonly started = new Map<string, { input: string; run: Promise<LocalRun> }>();
  private readonly listeners: ((name: string, run: Promise<LocalRun>) => void | Promise<void>)[] = [];

  constructor(private readonly interpreter: Pick<LocalInterpreter, 'runs' | 'execute'>) {}

  async start(machine: string, name: string, input: unknown, watch: ExecutionWatch = {}): Promise<{ executionArn: string }> {
    if (!this.interpreter.runs(machine)) throw new UnknownStrategy(`no state machine for strategy ${machine} here`);
    const arn = executionArn(machine, name);
    const json = JSON.stringify(input);
    const previous = this.started.get(name);
    if (previous) {
      if (previous.input !== json) throw Object.assign(new Error(`Execution Already Exists: '${arn}'`), { name: 'ExecutionAlreadyExists' });
      return { executionArn: arn };
    }
    const run = this.interpreter.execute(machine, input, { executionName: name, ...(watch.onEvent ? { onEvent: watch.onEvent } : {}) });
    run.catch((error: unknown) => process.emitWarning(`local execution ${name} crashed: ${String(error)}`));
    this.started.set(name, { input: json, run });
    for (const listener of this.listeners) await listener(name, run);
    return { executionArn: arn };
  }

  /** Tells `listener` of every execution started from now on; the start answers once the listener is done. */
  onStarted(listener: (name: string, run: Promise<LocalRun>) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  /** The run of an execution this process started. */
  run(name: string): Promise<LocalRun> | undefined {
    return this.started.get(name)?.run;
  }

  /** Waits for every execution started here to end. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.started.values()].map((s) => s.run));
  }
}
