import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { FanOutPorts as FanOutDeps } from '#app/fan-out/ports.ts';
import { dynamoRecords } from '../../lambdas/adapters/aws/records/index.ts';
import { LocalCallbacks, LocalEvents } from '../../lambdas/adapters/local/callbacks.ts';
import { REGIONAL_COMPLETED, REGIONAL_REQUESTED } from '../../lambdas/core/regions.ts';
import type { DeploymentSpec } from '../../lambdas/core/spec.ts';
import { createEvaluateRegionWave } from '../../lambdas/handlers/evaluate-region-wave.ts';
import { createFinalizeFanOut } from '../../lambdas/handlers/finalize-fan-out.ts';
import { createRegionCompleted } from '../../lambdas/handlers/region-completed.ts';
import { createRequestRegion } from '../../lambdas/handlers/request-region.ts';
import { createStartFanOut } from '../../lambdas/handlers/start-fan-out.ts';
import type { RecordStores, RegionalEvent } from '../../lambdas/ports.ts';
import type { StrategyName } from '../../lib/regional-stack.ts';
import type { FanOutHandlerName } from '../../statemachines/fan-out.ts';
import { SimulatedClock } from './clock.ts';
import { createTable, localDocumentClient } from './dynamodb.ts';
import {
  type EventLog,
  fakeContext,
  type LocalEventListener,
  LocalOrchestrator,
  type LocalOrchestratorOptions,
  type LocalRun,
} from './runner.ts';
import type { SynthesizedFanOut, SynthesizedOrchestrator } from './synth.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;
type LocalHandlers = NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers'];

/** One local region: its own fleet folder and its own table (its own app+env locks). */
export type LocalRegionOptions = Omit<LocalOrchestratorOptions, 'synthesized' | 'endpoint'>;

export interface LocalRegionsOptions {
  readonly synthesized: { readonly orchestrator: SynthesizedOrchestrator; readonly fanOut: SynthesizedFanOut };
  /** DynamoDB Local's endpoint; the tables are created here. */
  readonly endpoint: string;
  /** The control region's table: the multi-region record (it may be one region's table too, as in AWS). */
  readonly controlTable: string;
  /** The local regions, by name. */
  readonly regions: Readonly<Record<string, LocalRegionOptions>>;
  /** A fault: the bus delivers nothing to these regions (a region whose stack is missing or whose rule is off). */
  readonly silentRegions?: readonly string[];
  /** Longest local wait for a region's completion, whatever the spec's timeout. @default the spec's */
  readonly regionTimeoutMs?: number;
  /** Wait states of the fan-out machine (bake between region waves) last this long locally. @default 0 */
  readonly bakeMs?: number;
}

/** What the local bus carried, in order: the multi-region events between the regions. */
export type BusListener = (event: RegionalEvent) => void;

/**
 * Multi-region local mode: one LocalOrchestrator per local region (its own
 * fleet and table), the control region's fan-out machine in the interpreter
 * with the same handlers as in AWS, and a local bus in between. The bus
 * does what the EventBridge rules do: a "Regional Deployment Requested"
 * starts the requested strategy in its region with the event's spec; a
 * "Regional Deployment Completed" (put by the regional deployment's close)
 * reaches the control region's `regionCompleted` handler.
 */
export class LocalRegions {
  /** Each region's orchestrator, by region. */
  readonly orchestrators: ReadonlyMap<string, LocalOrchestrator>;
  /** The control region's records (the multi-region record). */
  readonly records: RecordStores;
  /** The control region's bus. */
  readonly events = new LocalEvents();
  readonly callbacks = new LocalCallbacks();
  /** Every event the bus carried, in order. */
  readonly delivered: RegionalEvent[] = [];
  private readonly handlers: Record<FanOutHandlerName, Handler>;
  private readonly busListeners: BusListener[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private regionalEventListener: ((region: string, event: EventLog) => void) | undefined;

  private constructor(private readonly options: LocalRegionsOptions) {
    this.records = dynamoRecords(localDocumentClient(options.endpoint), options.controlTable);
    const clock = new SimulatedClock();
    const deps: FanOutDeps = { ...this.records, events: this.events, callbacks: this.callbacks, clock };
    this.handlers = {
      startFanOut: createStartFanOut(deps),
      requestRegion: createRequestRegion(deps),
      regionCompleted: createRegionCompleted(deps),
      evaluateRegionWave: createEvaluateRegionWave(deps),
      finalizeFanOut: createFinalizeFanOut(deps),
    };
    const orchestrators = new Map<string, LocalOrchestrator>();
    for (const [region, regional] of Object.entries(options.regions)) {
      const orchestrator = new LocalOrchestrator({
        ...regional,
        synthesized: options.synthesized.orchestrator,
        endpoint: options.endpoint,
      });
      orchestrator.events.onRegionalEvent((event) => this.route(event));
      orchestrators.set(region, orchestrator);
    }
    this.orchestrators = orchestrators;
    this.events.onRegionalEvent((event) => this.route(event));
  }

  /** Creates the tables (control and regions) and the orchestrators. */
  static async start(options: LocalRegionsOptions): Promise<LocalRegions> {
    const tables = new Set([options.controlTable, ...Object.values(options.regions).map((r) => r.tableName)]);
    for (const table of tables) await createTable(options.endpoint, table, options.synthesized.orchestrator.table);
    return new LocalRegions(options);
  }

  /** Listens to the bus: every "Regional Deployment Requested" and "Completed", as it is delivered. */
  onBusEvent(listener: BusListener): void {
    this.busListeners.push(listener);
  }

  /** Listens to every region's state machine events (for progress lines). */
  onRegionalStateEvent(listener: (region: string, event: EventLog) => void): void {
    this.regionalEventListener = listener;
  }

  /** The EventBridge rules, locally. */
  private route(event: RegionalEvent): void {
    this.delivered.push(event);
    for (const listener of this.busListeners) listener(event);
    if (event.detailType === REGIONAL_REQUESTED) {
      const { region, spec } = event.detail;
      // No rule in that region (or the region's stack is missing): the request goes nowhere, as in AWS.
      const orchestrator = this.orchestrators.get(region);
      if (!orchestrator || this.options.silentRegions?.includes(region)) return;
      const strategy = ((spec as Partial<DeploymentSpec>).strategy?.type ?? 'rolling') as StrategyName;
      const onEvent = this.regionalEventListener ? (e: EventLog) => this.regionalEventListener?.(region, e) : undefined;
      this.track(
        orchestrator.execute(strategy, spec, { executionName: event.detail.deploymentId, ...(onEvent ? { onEvent } : {}) }),
        `regional deployment ${event.detail.deploymentId}`,
      );
      return;
    }
    if (event.detailType === REGIONAL_COMPLETED) {
      const envelope = { version: '0', source: 'deployctl', 'detail-type': REGIONAL_COMPLETED, detail: event.detail };
      this.track(this.handlers.regionCompleted(envelope, fakeContext('regionCompleted')), `completion of ${event.detail.deploymentId}`);
    }
  }

  private track(work: Promise<unknown>, what: string): void {
    const pending = work.catch((error: unknown) => process.emitWarning(`local bus: ${what} failed: ${String(error)}`));
    this.pending.add(pending);
    void pending.finally(() => this.pending.delete(pending));
  }

  /**
   * Runs the fan-out machine with a spec that has `regions` or `regionWaves`
   * to its end; the regional deployments it requests run meanwhile, each in
   * its region, and have ended when this returns.
   */
  async execute(input: unknown, options: { executionName?: string; onEvent?: LocalEventListener } = {}): Promise<LocalRun> {
    const executionName = options.executionName ?? randomUUID();
    const definition = localDefinition(this.options.synthesized.fanOut.definition);
    const localHandlers: NonNullable<LocalHandlers> = {};
    const retryOverrides: Record<string, number> = {};
    const waitOverrides: Record<string, number> = {};
    for (const [stateName, state] of allStates(definition)) {
      if (state.Type === 'Wait') waitOverrides[stateName] = this.options.bakeMs ?? 0;
      if (state.Type !== 'Task') continue;
      retryOverrides[stateName] = 0;
      const arn = (state as { Parameters?: { FunctionName?: string } }).Parameters?.FunctionName;
      const name = arn ? this.options.synthesized.fanOut.handlerByArn.get(arn) : undefined;
      if (!name) throw new Error(`task state "${stateName}" calls no fan-out function`);
      const handler = this.handlers[name];
      const waits = (state as { Resource: string }).Resource.endsWith('.waitForTaskToken');
      localHandlers[stateName] = (async (invocation: { Payload: Record<string, unknown> }) => {
        if (!waits) return { Payload: await handler(invocation.Payload, fakeContext(name)), StatusCode: 200 } as never;
        // Locally every task of a run sees one $$.Task.Token: each wait gets its own.
        const token = randomUUID();
        const seconds = Number((invocation.Payload.request as { timeoutSeconds?: number } | undefined)?.timeoutSeconds ?? 60);
        const waiting = this.callbacks.wait(token, Math.min(seconds * 1000, this.options.regionTimeoutMs ?? Number.POSITIVE_INFINITY));
        waiting.catch(() => undefined);
        try {
          await handler({ ...invocation.Payload, taskToken: token }, fakeContext(name));
        } catch (error) {
          this.callbacks.cancel(token);
          throw error;
        }
        return (await waiting) as never;
      }) as never;
    }
    const execution = new StateMachine(definition, { validationOptions: { checkArn: false } }).run(input as never, {
      overrides: { taskResourceLocalHandlers: localHandlers, retryIntervalOverrides: retryOverrides, waitTimeOverrides: waitOverrides },
      context: {
        Task: { Token: 'local-task-token' },
        Execution: { Name: executionName, Id: `arn:aws:states:us-east-1:000000000000:execution:deployctl-fanOut:${executionName}` },
      },
    });
    const events: EventLog[] = [];
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        events.push(event);
        options.onEvent?.(event);
      }
    })();
    try {
      const output = await execution.result;
      await collecting;
      return { executionName, status: 'SUCCEEDED', output, events };
    } catch (error) {
      await collecting.catch(() => undefined);
      if (error instanceof ExecutionAbortedError) return { executionName, status: 'ABORTED', events };
      if (!(error instanceof ExecutionError)) throw error;
      const failed = events.findLast((e) => e.type === 'ExecutionFailed') as { Error?: string; Cause?: string } | undefined;
      return { executionName, status: 'FAILED', error: failed?.Error ?? error.name, cause: failed?.Cause ?? error.message, events };
    } finally {
      await this.settle();
    }
  }

  /** Waits until every regional deployment and completion on the bus has ended. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops every wait: no timer keeps the process alive. */
  close(): void {
    this.callbacks.cancelAll();
    for (const orchestrator of this.orchestrators.values()) orchestrator.callbacks.cancelAll();
  }
}

type AnyState = StateMachineDefinition['States'][string];

/** Every state, those inside Map states too (task handlers are bound by state name wherever the state is). */
function allStates(definition: { States: Record<string, AnyState> }): [string, AnyState][] {
  return Object.entries(definition.States).flatMap(([name, state]) => {
    const processor = (state as { ItemProcessor?: { States: Record<string, AnyState> } }).ItemProcessor;
    return [[name, state] as [string, AnyState], ...(processor ? allStates(processor) : [])];
  });
}

/**
 * The fan-out definition as the interpreter runs it: it would read
 * TimeoutSecondsPath from the task's parameters (the service reads the state
 * input) and otherwise stops every task after 60 s, so the region waits get
 * the longest timeout a region may have and the local wait enforces each
 * region's own. The machine's own timeout is dropped.
 */
function localDefinition(definition: StateMachineDefinition): StateMachineDefinition {
  const copy = structuredClone(definition);
  // The machine's own timeout (30 days) is more than a Node timer holds; locally the run ends with its regions.
  delete (copy as { TimeoutSeconds?: number }).TimeoutSeconds;
  for (const [, state] of allStates(copy)) {
    if (state.Type !== 'Task' || !('TimeoutSecondsPath' in state)) continue;
    delete (state as { TimeoutSecondsPath?: string }).TimeoutSecondsPath;
    (state as { TimeoutSeconds?: number }).TimeoutSeconds = REGION_WAIT_CEILING_SECONDS;
  }
  return copy;
}

/** The longest region timeout a spec may give (regionPolicy.timeoutSeconds), plus a margin. */
const REGION_WAIT_CEILING_SECONDS = 90_060;
