import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { LocalCallbacks } from '#adapters/local/callbacks.ts';
import type { Ports } from '#ports';
import { FUNCTIONS, type FunctionName, type LambdaHandler } from '#registry';
import type { SimulatedClock } from './clock.ts';

/** One entry of the interpreter's event log (the library does not export the type). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type LocalHandlers = NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>;
type AnyState = StateMachineDefinition['States'][string];

/** A state machine event, as the benchmark sees it. */
export type LocalEventListener = (event: EventLog) => void;

/** How one execution ended. */
export interface LocalRun {
  readonly executionName: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly error?: string;
  readonly cause?: string;
  readonly output?: unknown;
  readonly events: readonly EventLog[];
}

/** The synthesized machines an interpreter runs, and which registry function each placeholder Lambda ARN stands for. */
export interface LocalMachines {
  /** By machine name: the strategies (`rolling`, ...) and `fanOut`. */
  readonly definitions: Readonly<Record<string, StateMachineDefinition>>;
  readonly functionByArn: ReadonlyMap<string, FunctionName>;
}

/** The ports the local functions get: `executions` only if a function starts machines. */
export type LocalPorts = Partial<Ports> & Pick<Ports, 'clock'> & { readonly callbacks: LocalCallbacks; readonly clock: SimulatedClock };

export interface LocalInterpreterOptions {
  readonly machines: LocalMachines;
  /** What every function is built with (one region's fleet, table, bus, clock). */
  readonly ports: LocalPorts;
  /** Ports one function gets instead (a fault that acts on one function only). @default none */
  readonly portsOf?: Partial<Record<FunctionName, Partial<Ports>>>;
  /** Wait states that do not wait until a timestamp (bake) last this many milliseconds. @default 0 */
  readonly bakeMs?: number;
  /** Longest local wait for a task token whose timeout the input gives (command waits, region waits). @default 60000 */
  readonly longestWaitMs?: number;
  /**
   * The function the "Step Functions Execution Status Change" rule targets: it
   * gets the event of every execution that did not succeed. @default none
   */
  readonly statusRule?: FunctionName;
}

/** The Lambda context a local handler gets: the function's name, a fresh request id. */
export function fakeContext(name: string): Context {
  return {
    functionName: `deployctl-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:deployctl-${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/deployctl-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Runs synthesized state machines in aws-local-stepfunctions. Every Task state
 * is bound to the function its Lambda ARN names, built through the registry
 * (`FUNCTIONS[name].load()`) over this interpreter's ports; each token wait
 * gets a fresh token and its timeout; each result is mapped as `lambda:invoke`
 * maps it. One interpreter per local region (strategy machines) and one for
 * the control region (the fan-out machine).
 */
export class LocalInterpreter {
  private readonly handlers = new Map<FunctionName, Promise<LambdaHandler>>();
  private readonly running = new Map<string, { abort: () => void }>();

  constructor(private readonly options: LocalInterpreterOptions) {}

  /** Whether this interpreter has a machine of that name (StartExecution refuses the others). */
  runs(machine: string): boolean {
    return machine in this.options.machines.definitions;
  }

  /** Which function a state of a machine calls (undefined for Choice, Wait, Pass...): for statistics, never for progress. */
  functionOf(machine: string, stateName: string): FunctionName | undefined {
    const definition = this.options.machines.definitions[machine];
    const state = definition ? allStates(definition).find(([name]) => name === stateName)?.[1] : undefined;
    const arn = (state as { Parameters?: { FunctionName?: string } } | undefined)?.Parameters?.FunctionName;
    return arn ? this.options.machines.functionByArn.get(arn) : undefined;
  }

  /** Invokes one function as Lambda would (an EventBridge rule's target, a direct call). */
  async invoke(name: FunctionName, event: unknown): Promise<unknown> {
    return (await this.handler(name))(event, fakeContext(name));
  }

  /** The function's handler, built once over the ports its registry entry names. */
  private handler(name: FunctionName): Promise<LambdaHandler> {
    let built = this.handlers.get(name);
    if (!built) {
      const spec = FUNCTIONS[name];
      const ports = { ...this.options.ports, ...this.options.portsOf?.[name] } as Partial<Ports>;
      const missing = spec.ports.filter((port) => ports[port] === undefined);
      if (missing.length > 0) throw new Error(`function ${name} needs the ports ${missing.join(', ')}, which this local region lacks`);
      built = spec.load().then((factory) => factory(ports as never));
      this.handlers.set(name, built);
    }
    return built;
  }

  /** Runs one execution of `machine` with `input` to its end. */
  async execute(
    machine: string,
    input: unknown,
    options: { executionName?: string; onEvent?: LocalEventListener } = {},
  ): Promise<LocalRun> {
    const { definition, timedByInput, validated } = this.localDefinition(machine);
    const executionName = options.executionName ?? randomUUID();
    const overrides = this.overrides(definition, timedByInput);
    // The interpreter validates a definition on every new StateMachine (about a second each): once per process is enough.
    const execution = new StateMachine(definition, { validationOptions: { checkArn: false, noValidate: validated } }).run(input as never, {
      overrides,
      context: {
        // Replaced by a fresh token per waiting task (see bind); the interpreter needs one to resolve $$.Task.Token.
        Task: { Token: 'local-task-token' },
        Execution: { Name: executionName, Id: executionArn(machine, executionName) },
      },
    });
    this.running.set(executionName, execution);
    const events: EventLog[] = [];
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        events.push(event);
        options.onEvent?.(event);
      }
    })();
    let run: LocalRun;
    try {
      const output = await execution.result;
      await collecting;
      run = { executionName, status: 'SUCCEEDED', output, events };
    } catch (error) {
      await collecting.catch(() => undefined);
      if (error instanceof ExecutionAbortedError) {
        run = { executionName, status: 'ABORTED', events };
      } else if (error instanceof ExecutionError) {
        const failed = events.findLast((e) => e.type === 'ExecutionFailed') as { Error?: string; Cause?: string } | undefined;
        run = { executionName, status: 'FAILED', error: failed?.Error ?? error.name, cause: failed?.Cause ?? error.message, events };
      } else {
        throw error;
      }
    } finally {
      this.running.delete(executionName);
    }
    // What EventBridge delivers for an execution that did not succeed: the rule's target finalizes a stranded record.
    if (run.status !== 'SUCCEEDED' && this.options.statusRule)
      await this.invoke(this.options.statusRule, statusChange(machine, input, run));
    return run;
  }

  /** StopExecution: the execution ends where it is, ABORTED. */
  stop(executionName: string): void {
    const execution = this.running.get(executionName);
    if (!execution) throw new Error(`no running execution named ${executionName}`);
    execution.abort();
  }

  /** The definition as the interpreter runs it, made (and validated) once per synthesized definition in this process. */
  private localDefinition(machine: string): Runnable & { validated: boolean } {
    const source = this.options.machines.definitions[machine];
    if (!source) throw new Error(`no state machine ${machine} here`);
    const known = RUNNABLE.get(source);
    if (known) return { ...known, validated: true };
    const made = runnable(source);
    RUNNABLE.set(source, made);
    return { ...made, validated: false };
  }

  /** Each task bound to its function, no retry interval, bakes as long as asked, timestamp waits skipped. */
  private overrides(definition: StateMachineDefinition, timedByInput: ReadonlySet<string>) {
    const taskResourceLocalHandlers: LocalHandlers = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const waitTimeOverrides: Record<string, number> = {};
    for (const [stateName, state] of allStates(definition)) {
      if (state.Type === 'Wait') waitTimeOverrides[stateName] = isTimestampWait(state) ? 0 : (this.options.bakeMs ?? 0);
      if (state.Type !== 'Task') continue;
      if ((state as { Resource: string }).Resource === SKIP_AHEAD_RESOURCE) {
        taskResourceLocalHandlers[stateName] = ((input: { until: string }) => {
          this.options.ports.clock.advanceTo(new Date(input.until));
          return {};
        }) as never;
        continue;
      }
      retryIntervalOverrides[stateName] = 0;
      taskResourceLocalHandlers[stateName] = this.bind(stateName, state, timedByInput.has(stateName)) as never;
    }
    return { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides };
  }

  /** A Task state's local handler: `lambda:invoke` of its function, with a token wait if the state has one. */
  private bind(stateName: string, state: AnyState, timedByInput: boolean) {
    const arn = (state as { Parameters?: { FunctionName?: string } }).Parameters?.FunctionName;
    const name = arn ? this.options.machines.functionByArn.get(arn) : undefined;
    if (!name) throw new Error(`task state "${stateName}" calls no deployctl function`);
    const waits = (state as { Resource: string }).Resource.endsWith('.waitForTaskToken');
    const fixedSeconds = timedByInput ? undefined : (state as { TimeoutSeconds?: number }).TimeoutSeconds;
    const callbacks = this.options.ports.callbacks;
    return async (invocation: { Payload: Record<string, unknown> }) => {
      if (!waits) return { Payload: await this.invoke(name, invocation.Payload), StatusCode: 200 };
      // Locally every task of a run sees one $$.Task.Token, so each wait gets a fresh token.
      const token = randomUUID();
      const waiting = callbacks.wait(token, this.waitMs(fixedSeconds, invocation.Payload));
      waiting.catch(() => undefined);
      try {
        await this.invoke(name, { ...invocation.Payload, taskToken: token });
      } catch (error) {
        callbacks.cancel(token);
        throw error;
      }
      return waiting;
    };
  }

  /**
   * How long a token wait lasts: a gate's own TimeoutSeconds; a command wait
   * the state's `waitSeconds`, a region wait the request's `timeoutSeconds`
   * (each capped locally by longestWaitMs).
   */
  private waitMs(fixedSeconds: number | undefined, payload: Record<string, unknown>): number {
    if (fixedSeconds !== undefined) return fixedSeconds * 1000;
    const seconds =
      (payload.state as { waitSeconds?: number } | undefined)?.waitSeconds ??
      (payload.request as { timeoutSeconds?: number } | undefined)?.timeoutSeconds ??
      60;
    return Math.min(Number(seconds) * 1000, this.options.longestWaitMs ?? 60_000);
  }
}

/** A definition as the interpreter runs it, and its tasks whose timeout the state input gives (the local wait enforces it). */
interface Runnable {
  readonly definition: StateMachineDefinition;
  readonly timedByInput: ReadonlySet<string>;
}

/** Runnable copies of the synthesized definitions (they are not changed after synthesis), shared by every interpreter. */
const RUNNABLE = new WeakMap<StateMachineDefinition, Runnable>();

/** The longest wait a Task whose timeout comes from its input may have locally (the longest region timeout, plus a margin). */
const INPUT_TIMEOUT_CEILING_SECONDS = 90_060;

/** The longest delay a Node timer holds, in seconds. */
const LONGEST_TIMER_SECONDS = 2_147_483;

/**
 * The definition as the interpreter can run it. aws-local-stepfunctions 3.0
 * reads TimeoutSecondsPath from the task's effective parameters, where the
 * service reads the state input: the path is dropped and the local wait
 * enforces the same timeout itself. A machine timeout longer than a Node
 * timer holds is dropped (locally the run ends with its tasks). Each Wait
 * state until a timestamp is followed by a local step that moves the
 * simulated clock to that timestamp (see `skipAheadAfter`).
 */
function runnable(source: StateMachineDefinition): Runnable {
  const copy = structuredClone(source);
  const timedByInput = new Set<string>();
  const machineTimeout = (copy as { TimeoutSeconds?: number }).TimeoutSeconds;
  if (machineTimeout !== undefined && machineTimeout > LONGEST_TIMER_SECONDS) delete (copy as { TimeoutSeconds?: number }).TimeoutSeconds;
  for (const [name, state, states] of allStatesWithin(copy)) {
    if (state.Type === 'Task' && 'TimeoutSecondsPath' in state) {
      delete (state as { TimeoutSecondsPath?: string }).TimeoutSecondsPath;
      (state as { TimeoutSeconds?: number }).TimeoutSeconds = INPUT_TIMEOUT_CEILING_SECONDS;
      timedByInput.add(name);
    }
    if (isTimestampWait(state)) skipAheadAfter(states, name, state);
  }
  return { definition: copy, timedByInput };
}

/** Every state, those inside Map states too (task handlers are bound by state name wherever the state is). */
function allStates(definition: { States: Record<string, AnyState> }): [string, AnyState][] {
  return allStatesWithin(definition).map(([name, state]) => [name, state]);
}

function allStatesWithin(definition: { States: Record<string, AnyState> }): [string, AnyState, Record<string, AnyState>][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const processor = (state as { ItemProcessor?: { States: Record<string, AnyState> } }).ItemProcessor;
    return [
      [name, state, definition.States] as [string, AnyState, Record<string, AnyState>],
      ...(processor ? allStatesWithin(processor) : []),
    ];
  });
}

/** The resource of the local steps that move the simulated clock: a local handler runs them, no service is called. */
const SKIP_AHEAD_RESOURCE = 'arn:aws:states:::local:simulatedClock.advanceTo';

type TimestampWait = { Type: 'Wait'; Timestamp?: string; TimestampPath?: string; Next?: string; End?: boolean };

function isTimestampWait(state: object): state is TimestampWait {
  return 'Type' in state && state.Type === 'Wait' && ('TimestampPath' in state || 'Timestamp' in state);
}

/**
 * Locally a Wait until a timestamp lasts no time (waitTimeOverrides); the step
 * inserted after it moves the simulated clock to the timestamp, so that the
 * states after the wait see the time they would see in AWS. The step reads
 * the timestamp exactly as the Wait does (the Wait passes its input on
 * unchanged) and passes its own input on (ResultPath null).
 */
function skipAheadAfter(states: Record<string, AnyState>, waitName: string, wait: TimestampWait): void {
  const name = `${waitName} (Simulated Clock)`;
  states[name] = {
    Type: 'Task',
    Resource: SKIP_AHEAD_RESOURCE,
    Parameters: wait.TimestampPath ? { 'until.$': wait.TimestampPath } : { until: wait.Timestamp },
    ResultPath: null,
    ...(wait.Next ? { Next: wait.Next } : { End: true }),
  } as never;
  delete wait.End;
  wait.Next = name;
}

/** The ARN of an execution of a local machine. */
export function executionArn(machine: string, executionName: string): string {
  return `arn:aws:states:us-east-1:000000000000:execution:deployctl-${machine}:${executionName}`;
}

/** The "Step Functions Execution Status Change" event the service would put on the default bus. */
function statusChange(machine: string, input: unknown, run: LocalRun) {
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: executionArn(machine, run.executionName),
      stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:deployctl-${machine}`,
      name: run.executionName,
      status: run.status,
      input: JSON.stringify(input ?? null),
      error: run.error ?? null,
      cause: run.cause ?? null,
    },
  };
}
