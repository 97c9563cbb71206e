import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { LocalCalendars } from '#adapters/local/calendars.ts';
import { LocalCallbacks, LocalEvents } from '#adapters/local/callbacks.ts';
import { type CommandStatusEvent, LocalAlarms, LocalFleet } from '#adapters/local/fleet.ts';
import { LocalTraffic } from '#adapters/local/traffic.ts';
import { createDeploymentService, type DeploymentService } from '#app/deployments.ts';
import type { DeploymentRecord } from '#core/records.ts';
import { DEPLOY_DOCUMENT } from '#core/spec.ts';
import { type Alarms, type FleetCommands, type Inventory, type RecordStores, systemClock } from '#ports';
import { SimulatedClock } from './clock.ts';
import { DEPLOY_SCRIPT } from './deploy-script.ts';
import { localDocumentClient } from './dynamodb.ts';
import { LocalExecutions } from './executions.ts';
import { crashingAfterSend, type ServiceFaults, throttled } from './faults.ts';
import { type LocalEventListener, LocalInterpreter, type LocalMachines, type LocalRun } from './interpreter.ts';

export type { ServiceFaults } from './faults.ts';
export { type EventLog, fakeContext, type LocalEventListener, type LocalRun } from './interpreter.ts';

/** A strategy's machine name (the spec's strategy type). */
export type StrategyName = import('#core/spec.ts').DeploymentSpec['strategy']['type'];

export interface LocalRegionOptions {
  /** The synthesized strategy machines and the function behind each Lambda ARN. */
  readonly machines: LocalMachines;
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
   * The functions' clock. A Wait state until a timestamp (the maintenance
   * window's) advances it to that time instead of sleeping.
   * @default a SimulatedClock at the system time
   */
  readonly clock?: SimulatedClock;
  /** Faults of the services around the fleet, for tests and demos. @default none */
  readonly faults?: ServiceFaults;
  /**
   * Another fleet for the functions instead of the local one (the benchmark's
   * simulated fleet), made once with the listener for SSM's command status
   * events; its `alarms`, if it has them, replace the local alarms. The SSM,
   * CloudWatch and crash faults act on the local fleet only.
   * @default the LocalFleet in fleetDir
   */
  readonly fleet?: (onCommandFinished: (event: CommandStatusEvent) => void) => FleetCommands & Inventory & { readonly alarms?: Alarms };
}

/**
 * One local region: its ports (the local fleet for SSM, DynamoDB Local for
 * records, in-process callbacks, bus and listeners, a simulated clock), the
 * interpreter that runs the strategy machines over them, StartExecution on
 * that interpreter (LocalExecutions), and the deployments service over it:
 * `deploy --local`, `serve --local` and `rollback --local` start through the
 * service, as the API does in AWS.
 */
export class LocalRegion {
  /** The region's DynamoDB Local client, which every record store uses (the benchmark meters it). */
  readonly db: DynamoDBDocumentClient;
  readonly records: RecordStores;
  readonly fleet: LocalFleet;
  readonly events = new LocalEvents();
  readonly callbacks: LocalCallbacks;
  readonly traffic: LocalTraffic;
  /** The functions' time, which timestamp Wait states skip ahead. */
  readonly clock: SimulatedClock;
  readonly interpreter: LocalInterpreter;
  /** StartExecution, in this process. */
  readonly executions: LocalExecutions;
  /** start, rollback, control, get, list, as the API and the CLI call them. */
  readonly service: DeploymentService;
  private readonly pendingCallbacks = new Set<Promise<unknown>>();

  constructor(options: LocalRegionOptions) {
    const faults = options.faults ?? {};
    this.db = localDocumentClient(options.endpoint, { throttles: faults.dynamoThrottles ?? 0 });
    this.records = dynamoRecords(this.db, options.tableName);
    this.callbacks = new LocalCallbacks(options.callbackInbox);
    const onCommandFinished = (event: CommandStatusEvent) => {
      if (!options.dropCommandEvents) this.deliver(event);
    };
    this.fleet = new LocalFleet({
      dir: options.fleetDir,
      documents: { [DEPLOY_DOCUMENT]: readFileSync(DEPLOY_SCRIPT, 'utf8') },
      onCommandFinished,
    });
    this.traffic = new LocalTraffic(options.trafficFile ?? `${options.fleetDir}.traffic.json`);
    this.clock = options.clock ?? new SimulatedClock();
    const ssm = throttled(this.fleet, ['send', 'invocations', 'findCommand', 'pingStatus', 'resolve'], faults.ssmThrottles ?? 0, 'SSM');
    const injected = options.fleet?.(onCommandFinished);
    this.interpreter = new LocalInterpreter({
      machines: options.machines,
      ports: {
        ...this.records,
        fleet: injected ?? ssm,
        inventory: injected ?? ssm,
        alarms:
          injected?.alarms ?? throttled(new LocalAlarms(options.fleetDir), ['describe'], faults.cloudWatchThrottles ?? 0, 'CloudWatch'),
        calendars: new LocalCalendars(options.fleetDir),
        callbacks: this.callbacks,
        events: this.events,
        traffic: this.traffic,
        clock: this.clock,
      },
      ...(faults.crashAfterSendInWave === undefined
        ? {}
        : { portsOf: { sendCommand: { fleet: crashingAfterSend(ssm, faults.crashAfterSendInWave) } } }),
      ...(options.bakeMs !== undefined ? { bakeMs: options.bakeMs } : {}),
      longestWaitMs: options.callbackTimeoutMs ?? 60_000,
      statusRule: 'executionStatus',
    });
    this.executions = new LocalExecutions(this);
    // Real time for lock checks and controls: a window wait's simulated skip ahead belongs to its execution.
    this.service = createDeploymentService({ ...this.records, executions: this.executions, callbacks: this.callbacks, clock: systemClock });
  }

  /**
   * The EventBridge rule's target: the callback function. The handler ignores
   * a command without a stored token, as on AWS, where the wave's wait covers
   * a status that came before the token was stored. On AWS that window is
   * milliseconds against the seconds an agent takes to pick a command up and
   * SSM to put its event; the local fleet runs a command in milliseconds, so
   * this stand-in gives the event that latency: it delivers it again, a few
   * times, while the callback does not know the command.
   */
  private deliver(event: CommandStatusEvent): void {
    const attempt = async (): Promise<void> => {
      for (let tries = 0; tries < 20; tries++) {
        const result = (await this.interpreter.invoke('commandCallback', event)) as { unknown?: true } | undefined;
        if (!result?.unknown) return;
        await new Promise((r) => setTimeout(r, 25 * (tries + 1)));
      }
    };
    const pending = attempt().catch((error: unknown) => {
      process.emitWarning(`local SSM status event for ${event.detail['command-id']} not delivered: ${String(error)}`);
    });
    this.pendingCallbacks.add(pending);
    void pending.finally(() => this.pendingCallbacks.delete(pending));
  }

  /** Whether this region has a machine of that name. */
  runs(machine: string): boolean {
    return this.interpreter.runs(machine);
  }

  /**
   * Runs one execution of a machine with `input` to its end, as
   * StartExecution would (no start checks: the machine's own validation
   * refuses a bad spec), and waits for the status events it caused.
   */
  async execute(
    machine: string,
    input: unknown,
    options: { executionName?: string; onEvent?: LocalEventListener } = {},
  ): Promise<LocalRun> {
    try {
      return await this.interpreter.execute(machine, input, options);
    } finally {
      await Promise.allSettled([...this.pendingCallbacks]);
    }
  }

  /**
   * Manual rollback of a finished deployment through the service: a new
   * deployment of its previous version with the same strategy, recorded as a
   * rollback of the original; resolves when it has ended.
   */
  async rollback(
    deploymentId: string,
    requestedBy: string,
    options: { executionName?: string; emergency?: boolean } = {},
  ): Promise<LocalRun> {
    const started = await this.service.rollback(deploymentId, requestedBy, {
      ...(options.executionName ? { idempotencyKey: options.executionName } : {}),
      ...(options.emergency ? { emergency: true } : {}),
    });
    const run = this.executions.run(started.deploymentId);
    if (!run) throw new Error(`rollback ${started.deploymentId} was started by another process (${started.status ?? 'unknown'})`);
    return run;
  }

  /** StopExecution: the execution ends where it is, ABORTED. */
  stop(executionName: string): void {
    this.interpreter.stop(executionName);
  }

  /** approve / reject / abort / pause / resume, as the CLI and the API send them. */
  control(request: Parameters<DeploymentService['control']>[0]): ReturnType<DeploymentService['control']> {
    return this.service.control(request);
  }

  /** The deployment's META record. */
  record(deploymentId: string): Promise<DeploymentRecord> {
    return this.records.deployments.getDeployment(deploymentId);
  }
}
