import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { TokenNotFound } from '#core/errors.ts';
import { dynamoRecords } from '../../lambdas/adapters/aws/records/index.ts';
import { LocalCallbacks, LocalEvents } from '../../lambdas/adapters/local/callbacks.ts';
import { type CommandStatusEvent, LocalAlarms, LocalFleet } from '../../lambdas/adapters/local/fleet.ts';
import { LocalTraffic } from '../../lambdas/adapters/local/traffic.ts';
import type { DeploymentRecord } from '../../lambdas/core/records.ts';
import { manualRollbackSpec } from '../../lambdas/core/rollback.ts';
import { DEPLOY_DOCUMENT, type DeploymentSpec } from '../../lambdas/core/spec.ts';
import { createAwaitGate } from '../../lambdas/handlers/await-gate.ts';
import { createCheckAlarms } from '../../lambdas/handlers/check-alarms.ts';
import { createCheckControls } from '../../lambdas/handlers/check-controls.ts';
import { createCommandCallback } from '../../lambdas/handlers/command-callback.ts';
import { type ControlRequest, type ControlResult, createControlDeployment } from '../../lambdas/handlers/control-deployment.ts';
import type { Deps } from '../../lambdas/handlers/deps.ts';
import { createEvaluateWave } from '../../lambdas/handlers/evaluate-wave.ts';
import { createExecutionStatus } from '../../lambdas/handlers/execution-status.ts';
import { createFinalize } from '../../lambdas/handlers/finalize.ts';
import { createPlanWaves } from '../../lambdas/handlers/plan-waves.ts';
import { createRunPreChecks } from '../../lambdas/handlers/run-pre-checks.ts';
import { createSendCommand } from '../../lambdas/handlers/send-command.ts';
import { createShiftTraffic, createSwitchBack } from '../../lambdas/handlers/shift-traffic.ts';
import { createValidateSpec } from '../../lambdas/handlers/validate-spec.ts';
import type { Alarms, CommandRequest, FleetCommands, Inventory, RecordStores } from '../../lambdas/ports.ts';
import { DEPLOY_SCRIPT } from '../../lib/deploy-document.ts';
import type { HandlerName } from '../../lib/orchestrator-functions.ts';
import type { StrategyName } from '../../lib/regional-stack.ts';
import { SimulatedClock } from './clock.ts';
import { localDocumentClient } from './dynamodb.ts';
import type { SynthesizedOrchestrator } from './synth.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Definitions this process has validated (they are not changed after synthesis). */
const validated = new WeakSet<StateMachineDefinition>();

/** One entry of the interpreter's event log (the library does not export the type). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type LocalHandlers = NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers'];

export interface LocalOrchestratorOptions {
  /** The synthesized stack (definitions, function bindings, table). */
  readonly synthesized: SynthesizedOrchestrator;
  /** DynamoDB Local's endpoint, with the table created. */
  readonly endpoint: string;
  readonly tableName: string;
  /** The local fleet's folder. */
  readonly fleetDir: string;
  /** Longest local wait for a command's callback before the reconciling read. @default 60000 */
  readonly callbackTimeoutMs?: number;
  /** Wait states (bake) last this many milliseconds locally. @default 0 */
  readonly bakeMs?: number;
  /** Drop every SSM status event (the callback never comes): a fault for tests. */
  readonly dropCommandEvents?: boolean;
  /** Folder where other processes' callbacks (approve, reject, resume) arrive. @default in-process only */
  readonly callbackInbox?: string;
  /** The local ALB listeners' weights (blue-green), made with LocalTraffic.create. @default `<fleetDir>.traffic.json` */
  readonly trafficFile?: string;
  /**
   * The handlers' clock. A Wait state until a timestamp (the maintenance
   * window's) advances it to that time instead of sleeping.
   * @default a SimulatedClock at the system time
   */
  readonly clock?: SimulatedClock;
  /** Faults of the services around the fleet, for tests and demos. @default none */
  readonly faults?: ServiceFaults;
  /**
   * Another fleet for the handlers instead of the local one (the benchmark's
   * simulated fleet), made once with the listener for SSM's command status
   * events; its `alarms`, if it has them, replace the local alarms. The SSM,
   * CloudWatch and crash faults act on the local fleet only.
   * @default the LocalFleet in fleetDir
   */
  readonly fleet?: (onCommandFinished: (event: CommandStatusEvent) => void) => FleetCommands & Inventory & { readonly alarms?: Alarms };
}

/** Faults of AWS services, as the local mode plays them. */
export interface ServiceFaults {
  /** The first n SSM calls (SendCommand, ListCommandInvocations, ListCommands, DescribeInstanceInformation) are throttled. */
  readonly ssmThrottles?: number;
  /** The first n CloudWatch DescribeAlarms calls are throttled. */
  readonly cloudWatchThrottles?: number;
  /** The first n DynamoDB requests are throttled (the SDK's retries absorb them). */
  readonly dynamoThrottles?: number;
  /**
   * The function that sends wave n (1-based) dies right after its first
   * SendCommand succeeded, before it could record it; Step Functions sees
   * Lambda.Unknown and retries the task.
   */
  readonly crashAfterSendInWave?: number;
}

/** What a throttled AWS call throws (the SDK's error name, which the state machines retry). */
function throttling(service: string): Error {
  return Object.assign(new Error(`local fault: ${service} rate exceeded`), { name: 'ThrottlingException' });
}

/** `target` whose first `count` calls of any of `methods` throw a ThrottlingException. */
function throttled<T extends object>(target: T, methods: readonly string[], count: number, service: string): T {
  let left = count;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (!methods.includes(String(property))) return value.bind(object);
      return async (...args: unknown[]) => {
        if (left > 0) {
          left--;
          throw throttling(service);
        }
        return value.apply(object, args);
      };
    },
  });
}

/** `fleet` whose send of wave `wave`'s first batch is followed, once, by the death of the calling function. */
function crashingAfterSend(fleet: LocalFleet, wave: number): LocalFleet {
  let crashed = false;
  return new Proxy(fleet, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== 'send') return value.bind(object);
      return async (request: CommandRequest) => {
        const commandId = await object.send(request);
        if (!crashed && request.comment.startsWith(`deployctl wave ${wave} batch 1/`)) {
          crashed = true;
          throw Object.assign(new Error('local fault: the function died after SendCommand'), { name: 'Lambda.Unknown' });
        }
        return commandId;
      };
    },
  });
}

/** A state machine event, as the progress display and the benchmark see it. */
export type LocalEventListener = (event: EventLog) => void;

export interface LocalRun {
  readonly executionName: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  readonly error?: string;
  readonly cause?: string;
  readonly output?: unknown;
  readonly events: readonly EventLog[];
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
 * Runs the synthesized state machines in aws-local-stepfunctions, each Task
 * bound to the real handler over local adapters: the local fleet for SSM,
 * DynamoDB Local for records, in-process callbacks and events.
 */
export class LocalOrchestrator {
  readonly records: RecordStores;
  readonly fleet: LocalFleet;
  readonly events = new LocalEvents();
  readonly callbacks: LocalCallbacks;
  readonly traffic: LocalTraffic;
  /** The handlers' time, which timestamp Wait states skip ahead. */
  readonly clock: SimulatedClock;
  private readonly handlers: Record<HandlerName, Handler>;
  private readonly pendingCallbacks = new Set<Promise<unknown>>();
  /** Running executions by name, for StopExecution. */
  private readonly running = new Map<string, { abort: () => void }>();

  constructor(private readonly options: LocalOrchestratorOptions) {
    const faults = options.faults ?? {};
    this.records = dynamoRecords(localDocumentClient(options.endpoint, { throttles: faults.dynamoThrottles ?? 0 }), options.tableName);
    this.callbacks = new LocalCallbacks(options.callbackInbox);
    this.fleet = new LocalFleet({
      dir: options.fleetDir,
      documents: { [DEPLOY_DOCUMENT]: readFileSync(DEPLOY_SCRIPT, 'utf8') },
      onCommandFinished: (event) => {
        if (!options.dropCommandEvents) this.deliver(event);
      },
    });
    this.traffic = new LocalTraffic(options.trafficFile ?? `${options.fleetDir}.traffic.json`);
    this.clock = options.clock ?? new SimulatedClock();
    const ssm = throttled(this.fleet, ['send', 'invocations', 'findCommand', 'pingStatus', 'resolve'], faults.ssmThrottles ?? 0, 'SSM');
    const injected = options.fleet?.((event) => {
      if (!options.dropCommandEvents) this.deliver(event);
    });
    const deps: Deps = {
      ...this.records,
      fleet: injected ?? ssm,
      inventory: injected ?? ssm,
      alarms: injected?.alarms ?? throttled(new LocalAlarms(options.fleetDir), ['describe'], faults.cloudWatchThrottles ?? 0, 'CloudWatch'),
      callbacks: this.callbacks,
      events: this.events,
      traffic: this.traffic,
      clock: this.clock,
    };
    this.handlers = {
      validateSpec: createValidateSpec(deps),
      planWaves: createPlanWaves(deps),
      runPreChecks: createRunPreChecks(deps),
      sendCommand: createSendCommand(
        faults.crashAfterSendInWave === undefined ? deps : { ...deps, fleet: crashingAfterSend(ssm, faults.crashAfterSendInWave) },
      ),
      commandCallback: createCommandCallback(deps),
      evaluateWave: createEvaluateWave(deps),
      checkAlarms: createCheckAlarms(deps),
      finalize: createFinalize(deps),
      checkControls: createCheckControls(deps),
      awaitGate: createAwaitGate(deps),
      controlDeployment: createControlDeployment(deps),
      shiftTraffic: createShiftTraffic(deps),
      switchBack: createSwitchBack(deps),
      executionStatus: createExecutionStatus(deps),
    };
  }

  /**
   * The EventBridge rule's target: the callback handler, retried like an
   * asynchronous Lambda invocation when the token is not stored yet.
   */
  private deliver(event: CommandStatusEvent): void {
    const attempt = async (): Promise<void> => {
      for (let tries = 0; ; tries++) {
        try {
          await this.handlers.commandCallback(event, fakeContext('commandCallback'));
          return;
        } catch (error) {
          if (!(error instanceof TokenNotFound) || tries >= 20) throw error;
          await new Promise((r) => setTimeout(r, 25 * (tries + 1)));
        }
      }
    };
    const pending = attempt().catch((error: unknown) => {
      process.emitWarning(`local SSM status event for ${event.detail['command-id']} not delivered: ${String(error)}`);
    });
    this.pendingCallbacks.add(pending);
    void pending.finally(() => this.pendingCallbacks.delete(pending));
  }

  /** Runs one execution of a strategy's state machine with `input` (a spec) to its end. */
  async execute(
    strategy: StrategyName,
    input: unknown,
    options: { executionName?: string; onEvent?: LocalEventListener } = {},
  ): Promise<LocalRun> {
    const definition = localDefinition(this.options.synthesized.definitions[strategy]);
    const executionName = options.executionName ?? randomUUID();
    const localHandlers: NonNullable<LocalHandlers> = {};
    const retryOverrides: Record<string, number> = {};
    const waitOverrides: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type === 'Wait') waitOverrides[stateName] = isTimestampWait(state) ? 0 : (this.options.bakeMs ?? 0);
      if (state.Type !== 'Task') continue;
      if ((state as { Resource: string }).Resource === SKIP_AHEAD_RESOURCE) {
        localHandlers[stateName] = ((input: { until: string }) => {
          this.clock.advanceTo(new Date(input.until));
          return {};
        }) as never;
        continue;
      }
      retryOverrides[stateName] = 0;
      const params = (state as { Parameters?: { FunctionName?: string } }).Parameters;
      const handlerName = params?.FunctionName ? this.options.synthesized.handlerByArn.get(params.FunctionName) : undefined;
      if (!handlerName) throw new Error(`task state "${stateName}" calls no orchestrator function`);
      const handler = this.handlers[handlerName];
      const waits = (state as { Resource: string }).Resource.endsWith('.waitForTaskToken');
      localHandlers[stateName] = (async (invocation: { Payload: Record<string, unknown> }) => {
        if (!waits) {
          const result = await handler(invocation.Payload, fakeContext(handlerName));
          return { Payload: result, StatusCode: 200 } as never;
        }
        // Locally every task of a run sees one $$.Task.Token, so each wait gets a fresh token.
        const token = randomUUID();
        // A command wait times out after the state's waitSeconds (capped locally); a gate after its own TimeoutSeconds.
        const fixed = (state as { TimeoutSeconds?: number }).TimeoutSeconds;
        const waitSeconds = Number((invocation.Payload.state as { waitSeconds?: number } | undefined)?.waitSeconds ?? 60);
        const timeoutMs = fixed !== undefined ? fixed * 1000 : Math.min(waitSeconds * 1000, this.options.callbackTimeoutMs ?? 60_000);
        const waiting = this.callbacks.wait(token, timeoutMs);
        waiting.catch(() => undefined);
        try {
          await handler({ ...invocation.Payload, taskToken: token }, fakeContext(handlerName));
        } catch (error) {
          this.callbacks.cancel(token);
          throw error;
        }
        return (await waiting) as never;
      }) as never;
    }

    // The interpreter validates a definition on every new StateMachine (about a second each): once per process is enough.
    const machine = new StateMachine(definition, { validationOptions: { checkArn: false, noValidate: validated.has(definition) } });
    validated.add(definition);
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: localHandlers, retryIntervalOverrides: retryOverrides, waitTimeOverrides: waitOverrides },
      context: {
        // Replaced by a fresh token per waiting task (see above); the interpreter needs one to resolve $$.Task.Token.
        Task: { Token: 'local-task-token' },
        Execution: { Name: executionName, Id: `arn:aws:states:us-east-1:000000000000:execution:deployctl-${strategy}:${executionName}` },
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
      await Promise.allSettled([...this.pendingCallbacks]);
    }
    // What EventBridge delivers for an execution that did not succeed: the rule's target finalizes a stranded record.
    if (run.status !== 'SUCCEEDED') await this.handlers.executionStatus(statusChange(strategy, input, run), fakeContext('executionStatus'));
    return run;
  }

  /**
   * Manual rollback of a finished deployment: a new deployment of its previous
   * version with the same strategy, recorded as a rollback of the original.
   */
  async rollback(
    deploymentId: string,
    requestedBy: string,
    options: { executionName?: string; onEvent?: LocalEventListener; emergency?: boolean } = {},
  ): Promise<LocalRun> {
    const spec = manualRollbackSpec(await this.records.deployments.getDeployment(deploymentId), requestedBy, {
      emergency: options.emergency ?? false,
    });
    const { emergency: _emergency, ...run } = options;
    return this.execute(spec.strategy?.type ?? 'rolling', spec, run);
  }

  /** Which handler a state of a strategy's machine runs (undefined for Choice, Wait, Pass...). */
  handlerOf(strategy: StrategyName, stateName: string): HandlerName | undefined {
    const state = this.options.synthesized.definitions[strategy].States[stateName] as
      | { Parameters?: { FunctionName?: string } }
      | undefined;
    const arn = state?.Parameters?.FunctionName;
    return arn ? this.options.synthesized.handlerByArn.get(arn) : undefined;
  }

  /** StopExecution: the execution ends where it is, ABORTED. */
  stop(executionName: string): void {
    const execution = this.running.get(executionName);
    if (!execution) throw new Error(`no running execution named ${executionName}`);
    execution.abort();
  }

  /** approve / reject / abort / pause / resume, as the CLI and the API send them. */
  async control(request: ControlRequest): Promise<ControlResult> {
    return (await this.handlers.controlDeployment(request, fakeContext('controlDeployment'))) as ControlResult;
  }

  /** The deployment's META record. */
  record(deploymentId: string): Promise<DeploymentRecord> {
    return this.records.deployments.getDeployment(deploymentId);
  }
}

/**
 * The definition as the interpreter can run it. aws-local-stepfunctions 3.0
 * reads TimeoutSecondsPath from the task's effective parameters, where the
 * service reads the state input; the local wait enforces the same timeout
 * (`waitSeconds`) itself, so the path is dropped here. Each Wait state until
 * a timestamp is followed by a local step that moves the simulated clock to
 * that timestamp (see `skipAheadAfter`).
 */
function localDefinition(definition: StateMachineDefinition): StateMachineDefinition {
  const copy = structuredClone(definition);
  for (const [name, state] of Object.entries(copy.States)) {
    if (state.Type === 'Task' && 'TimeoutSecondsPath' in state) delete (state as { TimeoutSecondsPath?: string }).TimeoutSecondsPath;
    if (isTimestampWait(state)) skipAheadAfter(copy, name, state);
  }
  return copy;
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
function skipAheadAfter(definition: StateMachineDefinition, waitName: string, wait: TimestampWait): void {
  const name = `${waitName} (Simulated Clock)`;
  definition.States[name] = {
    Type: 'Task',
    Resource: SKIP_AHEAD_RESOURCE,
    Parameters: wait.TimestampPath ? { 'until.$': wait.TimestampPath } : { until: wait.Timestamp },
    ResultPath: null,
    ...(wait.Next ? { Next: wait.Next } : { End: true }),
  } as never;
  delete wait.End;
  wait.Next = name;
}

/** The "Step Functions Execution Status Change" event the service would put on the default bus. */
function statusChange(strategy: StrategyName, input: unknown, run: LocalRun) {
  const stateMachineArn = `arn:aws:states:us-east-1:000000000000:stateMachine:deployctl-${strategy}`;
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:deployctl-${strategy}:${run.executionName}`,
      stateMachineArn,
      name: run.executionName,
      status: run.status,
      input: JSON.stringify(input ?? null),
      error: run.error ?? null,
      cause: run.cause ?? null,
    },
  };
}

/** The deployment id a spec will run under. */
export function deploymentIdOf(spec: Pick<DeploymentSpec, 'deploymentId'>, executionName: string): string {
  return spec.deploymentId ?? executionName;
}
