import type { StatusChangeDetail } from './core/events.ts';
import type { ArtifactRevision } from './core/pipeline.ts';
import type {
  CheckResult,
  DeploymentRecord,
  DeploymentStatus,
  HostResult,
  Page,
  RegionPhase,
  RegionProgress,
  Release,
  WaveResult,
  WaveSummary,
} from './core/records.ts';
import type { RegionalCompleted, RegionalRequested } from './core/regions.ts';
import type { DeploymentSpec } from './core/spec.ts';
import type { CalendarState } from './core/window.ts';

/**
 * Every interface the use cases (lambdas/app) need from the outside world.
 * The AWS adapters (lambdas/adapters/aws) implement them for Lambda, the
 * local stand-ins (lambdas/adapters/local) for the local fleet; each use case
 * and handler takes the `Pick<Ports, ...>` it uses, wired at the edge
 * (the generated Lambda entries, cli/local).
 */

export interface CommandRequest {
  readonly instanceIds: readonly string[];
  readonly document: string;
  readonly parameters: Readonly<Record<string, readonly string[]>>;
  readonly timeoutSeconds: number;
  readonly comment: string;
}

/** SSM's per-host invocation status, as ListCommandInvocations reports it. */
export type InvocationStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'TimedOut'
  | 'Failed'
  | 'Cancelling'
  | 'Undeliverable'
  | 'Terminated'
  | 'DeliveryTimedOut'
  | 'ExecutionTimedOut'
  | 'AccessDenied'
  | 'InvalidPlatform'
  | 'NoInstancesInTag';

export interface Invocation {
  readonly instanceId: string;
  readonly status: InvocationStatus | string;
  readonly statusDetails: string;
  readonly output?: string;
}

/** SSM Run Command. */
export interface FleetCommands {
  /** Sends one command to at most 50 instances and returns its command id. */
  send(request: CommandRequest): Promise<string>;
  /** Every host's invocation of a command (all pages). */
  invocations(commandId: string): Promise<Invocation[]>;
  /**
   * The id of a command already sent to `instanceId` with exactly this
   * document and comment since `after`, if any (SSM ListCommands): how a
   * retried send finds the command an earlier attempt sent before it died.
   */
  findCommand(query: { instanceId: string; document: string; comment: string; after: Date }): Promise<string | undefined>;
}

export interface HostInfo {
  readonly instanceId: string;
  /** SSM PingStatus: Online, ConnectionLost, Inactive, or Unknown when SSM does not know the host. */
  readonly pingStatus: string;
}

/** Which hosts a target selector means, and whether SSM can reach them. */
export interface Inventory {
  resolve(targets: { tags?: Record<string, string>; instanceIds?: string[]; resourceGroup?: string }): Promise<string[]>;
  pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]>;
}

export interface AlarmState {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | string;
  readonly reason?: string;
}

/** CloudWatch alarms. */
export interface Alarms {
  describe(selector: { names?: string[]; prefix?: string }): Promise<AlarmState[]>;
}

/** SSM Change Calendar. */
export interface ChangeCalendars {
  /**
   * The calendar's state at `at` (SSM GetCalendarState). CalendarUnavailable when
   * SSM has no such calendar, the document is not a calendar, or its entries are unsupported.
   */
  state(calendarName: string, at: Date): Promise<CalendarState>;
}

/** Step Functions task tokens. */
export interface TaskCallbacks {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}

/** One target group of a weighted forward action and its weight (an integer from 0 to 999). */
export interface TargetGroupWeight {
  readonly targetGroupArn: string;
  readonly weight: number;
}

/** An ALB listener's weighted forward action (Elastic Load Balancing v2). */
export interface Traffic {
  /** The listener's current default forward weights. */
  weights(listenerArn: string): Promise<TargetGroupWeight[]>;
  /** Replaces the listener's default action with one weighted forward to these target groups. */
  shift(listenerArn: string, weights: readonly TargetGroupWeight[]): Promise<void>;
}

export interface StatusEvent {
  readonly detailType: 'Deployment Status Change';
  readonly detail: StatusChangeDetail;
}

/** Multi-region: between the control region and a region (see lambdas/core/regions.ts). */
export type RegionalEvent =
  | { readonly detailType: 'Regional Deployment Requested'; readonly detail: RegionalRequested }
  | { readonly detailType: 'Regional Deployment Completed'; readonly detail: RegionalCompleted };

/** EventBridge. */
export interface Events {
  put(event: StatusEvent | RegionalEvent): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Starting a strategy's state machine. */
export interface Executions {
  /**
   * Starts an execution named `name` (the deployment id) with `input`. A
   * repeat with the same name and input starts nothing new and answers the
   * same execution, as StartExecution does.
   */
  start(strategy: string, name: string, input: unknown): Promise<{ readonly executionArn: string }>;
}

/** CodePipeline: what a pipeline execution was built from. */
export interface PipelineLookup {
  /** The execution's source revisions, in the order CodePipeline lists them. */
  revisions(pipelineName: string, pipelineExecutionId: string): Promise<ArtifactRevision[]>;
}

/** Fields of the META record a use case may set (never the keys, the spec or the creation time). */
export type DeploymentFields = Partial<Omit<DeploymentRecord, 'deploymentId' | 'spec' | 'createdAt'>> & {
  checks?: readonly CheckResult[];
};

/** The META record of each deployment. */
export interface DeploymentStore {
  /** Creates the META record; a retried call with the same id is a no-op ('exists'). */
  createDeployment(id: string, spec: DeploymentSpec, executionName: string, now: Date): Promise<'created' | 'exists'>;
  /** The record; RecordNotFound when there is none. */
  getDeployment(id: string): Promise<DeploymentRecord>;
  updateDeployment(id: string, fields: DeploymentFields, now: Date): Promise<void>;
  /** Sets the terminal status once: a later, different outcome does not overwrite it. Returns the record as it ends. */
  finishDeployment(id: string, status: DeploymentStatus, reason: string | undefined, now: Date): Promise<DeploymentRecord>;
  /** Every deployment, newest first, one page at a time. */
  listDeployments(limit: number, cursor?: Record<string, unknown>): Promise<Page<DeploymentRecord>>;
  /** Clears the gate if it still holds this token; false when another answer took it first. */
  clearGate(id: string, token: string, now: Date): Promise<boolean>;
}

/** The app+env lock: one live deployment per app and environment. */
export interface LockStore {
  /** Free, expired, ours, or held by a deployment that has ended: taken. Otherwise LockHeld. */
  acquireLock(app: string, env: string, deploymentId: string, now: Date, ttlSeconds: number): Promise<void>;
  /** Releases the lock if this deployment holds it; returns whether it did. */
  releaseLock(app: string, env: string, deploymentId: string): Promise<boolean>;
  getLockHolder(app: string, env: string): Promise<string | undefined>;
  /** The live holder: an expired lock, or one held by a deployment that has ended, is free. */
  getLiveLockHolder(app: string, env: string, now: Date): Promise<string | undefined>;
}

/** A command's completion, as the status callback records it. */
export interface CommandCompletion {
  readonly token: string;
  readonly deploymentId: string;
  readonly wave: number;
  /** True when this completion was the wave's last outstanding command. */
  readonly waveDone: boolean;
}

/** What has been sent of a wave: one command id per batch, and a batch being sent (intent recorded, id not yet). */
export interface WaveSending {
  readonly commandIds: string[];
  readonly sentAt?: string;
  readonly sending?: { readonly batch: number; readonly at: string };
}

/** Waves, the commands sent per batch, their task tokens, and per-host results. */
export interface WaveStore {
  getWaves(id: string): Promise<WaveSummary[]>;
  putWave(id: string, wave: number, hosts: readonly string[]): Promise<void>;
  getWaveHosts(id: string, wave: number): Promise<string[]>;
  /** Records, before a SendCommand, that batch `batch` of the wave is being sent (a retry then looks for it at SSM). */
  markSending(id: string, wave: number, batch: number, now: Date): Promise<void>;
  /** Stores the command id of batch `batch` only if the batches before it are stored; false if it was stored already. */
  addWaveCommand(id: string, wave: number, batch: number, commandId: string, now: Date): Promise<boolean>;
  /** Stores the token under each command id, then marks the wave fully sent; whether every command had finished already. */
  putCommandTokens(id: string, wave: number, commandIds: readonly string[], token: string, now: Date): Promise<{ waveDone: boolean }>;
  putCommandToken(id: string, wave: number, commandId: string, token: string, now: Date): Promise<void>;
  /** Marks one command finished; TokenNotFound when no token is stored for it. */
  completeCommand(commandId: string): Promise<CommandCompletion>;
  getWaveCommands(id: string, wave: number): Promise<string[]>;
  getWaveSending(id: string, wave: number): Promise<WaveSending>;
  putWaveResult(id: string, result: WaveResult, now: Date): Promise<void>;
  putHostResults(id: string, results: readonly HostResult[], now: Date): Promise<void>;
  getHostResults(id: string): Promise<HostResult[]>;
}

/** The audit trail. */
export interface AuditLog {
  appendEvent(id: string, type: string, actor: string, detail: Record<string, unknown>, now: Date): Promise<void>;
  /** Appends the event at most once per `once` key; returns whether this call wrote it. */
  appendEventOnce(id: string, once: string, type: string, actor: string, detail: Record<string, unknown>, now: Date): Promise<boolean>;
  getEvents(id: string): Promise<Record<string, unknown>[]>;
}

/** The release history of each app+env. */
export interface ReleaseStore {
  /** Releases of app+env, newest first, one page at a time. */
  listReleases(app: string, env: string, limit: number, cursor?: Record<string, unknown>): Promise<Page<Release>>;
  /** Records the release at the deployment's own end time (a retried close rewrites the same item). */
  putRelease(record: DeploymentRecord, status: DeploymentStatus, now: Date): Promise<void>;
  /** The version of the latest successful release of app+env, if any. */
  lastGoodVersion(app: string, env: string): Promise<string | undefined>;
}

/** Multi-region: each region's entry in the control region's record. */
export interface RegionStore {
  updateRegion(id: string, region: string, phase: RegionPhase, fields: Partial<Omit<RegionProgress, 'rollback'>>, now: Date): Promise<void>;
}

/** Every record store (one DynamoDB table; keys in lambdas/core/records.ts). */
export interface RecordStores {
  readonly deployments: DeploymentStore;
  readonly locks: LockStore;
  readonly waves: WaveStore;
  readonly audit: AuditLog;
  readonly releases: ReleaseStore;
  readonly regions: RegionStore;
}

/**
 * Everything the use cases talk to. Each use case and handler takes the
 * `Pick` of the ports it needs; the AWS adapters or the local ones are
 * chosen at the edge (lambdas/functions, cli/local).
 */
export interface Ports extends RecordStores {
  readonly fleet: FleetCommands;
  readonly inventory: Inventory;
  readonly alarms: Alarms;
  /** SSM Change Calendar states (spec `window.changeCalendar`). */
  readonly calendars: ChangeCalendars;
  readonly callbacks: TaskCallbacks;
  readonly events: Events;
  /** ALB listener weights (blue-green). */
  readonly traffic: Traffic;
  readonly executions: Executions;
  readonly clock: Clock;
}
