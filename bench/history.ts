/**
 * From the interpreter's event log to what the Step Functions service would
 * record and bill for the same execution. Pure: no I/O.
 *
 * aws-local-stepfunctions logs, per state visit, StateEntered then either
 * StateExited, or StateFailed followed by StateRetried (and the state runs
 * again), or StateFailed + StateCaught + StateExited (a Catch took it), or
 * StateFailed alone (the execution fails). The service writes, for the same
 * visit (event types from the HistoryEvent API reference,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html;
 * the sequences below are those of histories recorded against AWS in
 * LocalStack's parity snapshots, tests/aws/services/stepfunctions/v2/, for
 * lambda:invoke, `.waitForTaskToken` tasks and caught Lambda errors):
 *
 * | interpreter                  | service history                                                         |
 * | ---------------------------- | ----------------------------------------------------------------------- |
 * | ExecutionStarted             | ExecutionStarted                                                        |
 * | StateEntered, Task           | TaskStateEntered, TaskScheduled, TaskStarted                            |
 * |   + a `.waitForTaskToken`    |   + TaskSubmitted (the Lambda invoke returned; the task now waits)      |
 * | StateExited, Task            | TaskSucceeded (not after a Catch), TaskStateExited                      |
 * | StateFailed, Task            | TaskFailed, or TaskTimedOut for States.Timeout                          |
 * | StateRetried, Task           | TaskScheduled, TaskStarted (+ TaskSubmitted): the new attempt           |
 * | StateCaught                  | nothing: the StateExited that follows is TaskStateExited               |
 * | StateEntered / StateExited   | <Type>StateEntered / <Type>StateExited (Choice, Pass, Wait, Succeed)    |
 * | StateEntered, Fail           | FailStateEntered (a Fail state has no exit event)                      |
 * | StateFailed, other types     | nothing (the ExecutionFailed that follows says it)                     |
 * | ExecutionSucceeded / Failed  | ExecutionSucceeded / ExecutionFailed                                    |
 * | ExecutionTerminated          | ExecutionAborted (StopExecution)                                        |
 *
 * One approximation: a `.waitForTaskToken` task whose Lambda invoke itself
 * fails gets no TaskSubmitted from the service; here it always gets one (one
 * event too many per such failure; the benchmark's runs have none).
 *
 * Billing: "Step Functions counts a state transition each time a step of
 * your workflow is executed ... including retries"
 * (https://aws.amazon.com/step-functions/pricing/): one transition per
 * StateEntered and per StateRetried.
 */

/** The fields of an interpreter event this module reads; the runner's EventLog entries have this shape. */
export interface InterpreterEvent {
  readonly type: string;
  readonly timestamp?: number;
  readonly state?: { readonly name: string; readonly type: string; readonly input?: unknown; readonly output?: unknown };
  readonly input?: unknown;
  readonly output?: unknown;
  readonly Error?: string;
}

export interface HistoryOptions {
  /** Task states that use `.waitForTaskToken`. */
  readonly callbackTasks: ReadonlySet<string>;
  /** States that exist only locally (the simulated clock's steps): left out of every count. */
  readonly localOnly?: (stateName: string) => boolean;
}

/** The largest execution history the service accepts. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** The largest state input, output or task result the service accepts, in bytes (UTF-8). */
export const PAYLOAD_LIMIT_BYTES = 262_144;

function kept(event: InterpreterEvent, localOnly: HistoryOptions['localOnly']): boolean {
  return !(event.state && localOnly?.(event.state.name));
}

/** The history event types the service would write for this event log, in order. */
export function historyEvents(events: readonly InterpreterEvent[], options: HistoryOptions): string[] {
  const out: string[] = [];
  /** The states whose current visit was caught: their exit is not a success. */
  const caught = new Set<string>();
  const attempt = (name: string) =>
    options.callbackTasks.has(name) ? ['TaskScheduled', 'TaskStarted', 'TaskSubmitted'] : ['TaskScheduled', 'TaskStarted'];
  for (const event of events) {
    if (!kept(event, options.localOnly)) continue;
    const state = event.state;
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
        out.push(event.type);
        break;
      case 'ExecutionTerminated':
        out.push('ExecutionAborted');
        break;
      case 'StateEntered':
        if (!state) break;
        caught.delete(state.name);
        out.push(`${state.type}StateEntered`);
        if (state.type === 'Task') out.push(...attempt(state.name));
        break;
      case 'StateRetried':
        if (state?.type === 'Task') out.push(...attempt(state.name));
        break;
      case 'StateFailed':
        if (state?.type === 'Task') out.push(event.Error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed');
        break;
      case 'StateCaught':
        if (state) caught.add(state.name);
        break;
      case 'StateExited':
        if (!state || state.type === 'Fail') break;
        if (state.type === 'Task' && !caught.has(state.name)) out.push('TaskSucceeded');
        caught.delete(state.name);
        out.push(`${state.type}StateExited`);
        break;
      default:
        // Map iterations and Parallel branches (these machines have none) keep their names.
        out.push(event.type);
    }
  }
  return out;
}

/** Billed state transitions: every state entered, and every retry. */
export function stateTransitions(events: readonly InterpreterEvent[], options: Pick<HistoryOptions, 'localOnly'> = {}): number {
  let count = 0;
  for (const event of events) {
    if (!kept(event, options.localOnly)) continue;
    if (event.type === 'StateEntered' || event.type === 'StateRetried') count++;
  }
  return count;
}

/** JSON size in bytes (UTF-8), as the service measures a payload. */
export function jsonBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** The largest execution input or output, state input or state output, in bytes. */
export function largestPayloadBytes(events: readonly InterpreterEvent[], options: Pick<HistoryOptions, 'localOnly'> = {}): number {
  let largest = 0;
  for (const event of events) {
    if (!kept(event, options.localOnly)) continue;
    const sizes =
      event.type === 'StateEntered'
        ? [jsonBytes(event.state?.input)]
        : event.type === 'StateExited'
          ? [jsonBytes(event.state?.output)]
          : event.type === 'ExecutionStarted'
            ? [jsonBytes(event.input)]
            : event.type === 'ExecutionSucceeded'
              ? [jsonBytes(event.output)]
              : [];
    for (const size of sizes) largest = Math.max(largest, size);
  }
  return largest;
}
