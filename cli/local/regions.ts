import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { LocalCallbacks, LocalEvents } from '#adapters/local/callbacks.ts';
import { createDeploymentService, type DeploymentService } from '#app/deployments.ts';
import { FAN_OUT_MACHINE, REGIONAL_COMPLETED, REGIONAL_REQUESTED } from '#core/regions.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import { type RecordStores, type RegionalEvent, systemClock } from '#ports';
import { SimulatedClock } from './clock.ts';
import { createTable, localDocumentClient } from './dynamodb.ts';
import { LocalExecutions } from './executions.ts';
import { type EventLog, type LocalEventListener, LocalInterpreter, type LocalRun } from './interpreter.ts';
import { LocalRegion, type LocalRegionOptions } from './region.ts';
import { type SynthesizedFanOut, type SynthesizedOrchestrator, strategyMachines } from './synth-types.ts';

/** One local region: its own fleet folder and its own table (its own app+env locks). */
export type LocalRegionSetup = Omit<LocalRegionOptions, 'machines' | 'endpoint'>;

export interface LocalRegionsOptions {
  readonly synthesized: { readonly orchestrator: SynthesizedOrchestrator; readonly fanOut: SynthesizedFanOut };
  /** DynamoDB Local's endpoint; the tables are created here. */
  readonly endpoint: string;
  /** The control region's table: the multi-region record (it may be one region's table too, as in AWS). */
  readonly controlTable: string;
  /** The local regions, by name. */
  readonly regions: Readonly<Record<string, LocalRegionSetup>>;
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
 * Multi-region local mode: one LocalRegion per region (its own fleet, table
 * and interpreter of the strategy machines), the control region's
 * interpreter running the fan-out machine over the control table, and a
 * local bus in between. The bus does what the EventBridge rules do: a
 * "Regional Deployment Requested" starts (StartExecution) the requested
 * strategy in its region with the event's spec; a "Regional Deployment
 * Completed" (put by the regional deployment's close) reaches the control
 * region's `regionCompleted` function.
 */
export class LocalRegions {
  /** Each local region, by name. */
  readonly regions: ReadonlyMap<string, LocalRegion>;
  /** The control region's records (the multi-region record). */
  readonly records: RecordStores;
  /** The control region's bus. */
  readonly events = new LocalEvents();
  readonly callbacks = new LocalCallbacks();
  /** The control region's interpreter (the fan-out machine). */
  readonly interpreter: LocalInterpreter;
  /** StartExecution of the fan-out machine, in this process. */
  readonly executions: LocalExecutions;
  /** The control region's deployments service: a multi-region start goes through it, as through the API. */
  readonly service: DeploymentService;
  /** Every event the bus carried, in order. */
  readonly delivered: RegionalEvent[] = [];
  private readonly busListeners: BusListener[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(private readonly options: LocalRegionsOptions) {
    this.records = dynamoRecords(localDocumentClient(options.endpoint), options.controlTable);
    const { orchestrator, fanOut } = options.synthesized;
    this.interpreter = new LocalInterpreter({
      machines: { definitions: { [FAN_OUT_MACHINE]: fanOut.definition }, functionByArn: fanOut.handlerByArn },
      ports: { ...this.records, events: this.events, callbacks: this.callbacks, clock: new SimulatedClock() },
      ...(options.bakeMs !== undefined ? { bakeMs: options.bakeMs } : {}),
      longestWaitMs: options.regionTimeoutMs ?? Number.POSITIVE_INFINITY,
    });
    this.executions = new LocalExecutions(this.interpreter);
    this.service = createDeploymentService({ ...this.records, executions: this.executions, callbacks: this.callbacks, clock: systemClock });
    const regions = new Map<string, LocalRegion>();
    for (const [name, setup] of Object.entries(options.regions)) {
      const region = new LocalRegion({ ...setup, machines: strategyMachines(orchestrator), endpoint: options.endpoint });
      region.events.onRegionalEvent((event) => this.route(event));
      regions.set(name, region);
    }
    this.regions = regions;
    this.events.onRegionalEvent((event) => this.route(event));
  }

  /** Creates the tables (control and regions) and the regions. */
  static async start(options: LocalRegionsOptions): Promise<LocalRegions> {
    const tables = new Set([options.controlTable, ...Object.values(options.regions).map((r) => r.tableName)]);
    for (const table of tables) await createTable(options.endpoint, table, options.synthesized.orchestrator.table);
    return new LocalRegions(options);
  }

  /** Listens to the bus: every "Regional Deployment Requested" and "Completed", as it is delivered. */
  onBusEvent(listener: BusListener): void {
    this.busListeners.push(listener);
  }

  /** The EventBridge rules, locally. */
  private route(event: RegionalEvent): void {
    this.delivered.push(event);
    for (const listener of this.busListeners) listener(event);
    if (event.detailType === REGIONAL_REQUESTED) {
      const { region: name, spec } = event.detail;
      // No rule in that region (or the region's stack is missing): the request goes nowhere, as in AWS.
      const region = this.regions.get(name);
      if (!region || this.options.silentRegions?.includes(name)) return;
      const strategy = (spec as Partial<DeploymentSpec>).strategy?.type ?? 'rolling';
      const { deploymentId } = event.detail;
      this.track(
        region.executions.start(strategy, deploymentId, spec).then(() => region.executions.run(deploymentId)),
        `regional deployment ${deploymentId}`,
      );
      return;
    }
    if (event.detailType === REGIONAL_COMPLETED) {
      const envelope = { version: '0', source: 'deployctl', 'detail-type': REGIONAL_COMPLETED, detail: event.detail };
      this.track(this.interpreter.invoke('regionCompleted', envelope), `completion of ${event.detail.deploymentId}`);
    }
  }

  private track(work: Promise<unknown>, what: string): void {
    const pending = work.catch((error: unknown) => process.emitWarning(`local bus: ${what} failed: ${String(error)}`));
    this.pending.add(pending);
    void pending.finally(() => this.pending.delete(pending));
  }

  /**
   * Runs the fan-out machine with a spec that has `regions` or `regionWaves`
   * to its end (StartExecution, without the service's start checks); the
   * regional deployments it requests run meanwhile, each in its region, and
   * have ended when this returns.
   */
  async execute(input: unknown, options: { executionName?: string; onEvent?: LocalEventListener } = {}): Promise<LocalRun> {
    try {
      return await this.interpreter.execute(FAN_OUT_MACHINE, input, options);
    } finally {
      await this.settle();
    }
  }

  /** The run of a fan-out started through the service, to its end (with its regions'). */
  async finished(deploymentId: string): Promise<LocalRun> {
    const run = this.executions.run(deploymentId);
    if (!run) throw new Error(`no fan-out ${deploymentId} was started in this process`);
    try {
      return await run;
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
    for (const region of this.regions.values()) region.callbacks.cancelAll();
  }
}

export type { EventLog };
