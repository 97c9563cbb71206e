import type { DeploymentSpec } from './spec.ts';

/** Terminal and running statuses of a deployment's META record. */
export type DeploymentStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED';
export const TERMINAL_STATUSES: readonly DeploymentStatus[] = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED'];

export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  readonly reason: string;
}

export interface DeploymentRecord {
  readonly deploymentId: string;
  readonly spec: DeploymentSpec;
  readonly status: DeploymentStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt?: string;
  readonly currentWave?: number;
  readonly waveCount?: number;
  readonly hostCount?: number;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly rolledBack?: number;
  readonly reason?: string;
  readonly checks?: readonly CheckResult[];
  readonly executionName?: string;
  /** A pause or abort someone asked for; the execution acts on it at its next safe point. */
  readonly control?: Control | null;
  /** What the execution is waiting for between waves, with the task token that wakes it. */
  readonly gate?: Gate | null;
  /** While the execution waits for its maintenance window (policy `wait`): the opening it waits for. */
  readonly windowOpensAt?: string | null;
  /** Multi-region (the control region's record): the region waves, in order. */
  readonly regionWaves?: readonly (readonly string[])[];
  /** Multi-region: the region wave running or last run (0-based). */
  readonly currentRegionWave?: number;
  /** Multi-region: every region's deployment, by region. */
  readonly regions?: Readonly<Record<string, RegionProgress>>;
}

/** A region's deployment, or the roll-back-all policy's rollback of it. */
export type RegionPhase = 'deploy' | 'rollback';

/** One region of a multi-region deployment, as the control region's record keeps it. */
export interface RegionProgress {
  /** The region wave it belongs to (0-based). */
  readonly wave: number;
  /** The region's own deployment id (`<parent>-<region>`); its record is in the region's table. */
  readonly deploymentId: string;
  readonly status: 'PENDING' | 'REQUESTED' | 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED' | 'TIMED_OUT';
  readonly reason?: string | null;
  readonly hosts?: number;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly rolledBack?: number;
  /** The version the region goes back to on a rollback. */
  readonly previousVersion?: string | null;
  readonly requestedAt?: string;
  /** The region's deployment's own start and end. */
  readonly startedAt?: string;
  readonly endedAt?: string;
  /** The task token of the control execution's wait for this region (never shown to callers). */
  readonly token?: string | null;
  /** The roll-back-all policy's rollback of this region, once requested. */
  readonly rollback?: Omit<RegionProgress, 'wave' | 'rollback'>;
}

export interface Control {
  readonly action: 'PAUSE' | 'ABORT';
  readonly by: string;
  readonly at: string;
  readonly comment?: string;
}

export interface Gate {
  readonly kind: 'approval' | 'resume';
  /** The wave (0-based) the gate stands before. */
  readonly wave: number;
  readonly token: string;
  readonly since: string;
}

export interface HostResult {
  readonly instanceId: string;
  readonly wave: number;
  readonly phase: 'deploy' | 'rollback' | 'validate';
  readonly status: string;
  readonly statusDetails: string;
  readonly commandId: string;
  readonly version: string | undefined;
  /** The end of the command's output on the host (SSM keeps up to 2,500 characters). */
  readonly output?: string;
}

export interface WaveResult {
  readonly wave: number;
  readonly hosts: number;
  readonly succeeded: number;
  readonly failed: number;
}

/** Key layout of the one table (see DESIGN.md). */
export const keys = {
  meta: (id: string) => ({ pk: `DEPLOY#${id}`, sk: 'META' }),
  wave: (id: string, wave: number) => ({ pk: `DEPLOY#${id}`, sk: `WAVE#${pad(wave)}` }),
  waveHosts: (id: string, wave: number, chunk: number) => ({ pk: `DEPLOY#${id}`, sk: `WAVE#${pad(wave)}#HOSTS#${pad(chunk)}` }),
  host: (id: string, instanceId: string) => ({ pk: `DEPLOY#${id}`, sk: `HOST#${instanceId}` }),
  event: (id: string, at: string, seq: string) => ({ pk: `DEPLOY#${id}`, sk: `EVENT#${at}#${seq}` }),
  lock: (app: string, env: string) => ({ pk: `LOCK#${app}#${env}`, sk: 'LOCK' }),
  release: (app: string, env: string, at: string) => ({ pk: `APP#${app}#${env}`, sk: `RELEASE#${at}` }),
  command: (commandId: string) => ({ pk: `CMD#${commandId}`, sk: 'TOKEN' }),
  /** The listing index's keys on a META record: every deployment, by creation time. */
  listing: (createdAt: string) => ({ kind: 'DEPLOYMENT', createdAt }),
};

/** The global secondary index that lists deployments newest first. */
export const LISTING_INDEX = 'byCreatedAt';

/** A page of a listing; `cursor` is the key to continue from, absent on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly cursor?: Record<string, unknown>;
}

/** One wave as recorded: its size, status and results. */
export interface WaveSummary {
  readonly wave: number;
  readonly hosts: number;
  readonly status: 'PLANNED' | 'RUNNING' | 'DONE' | string;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly sentAt?: string;
  readonly endedAt?: string;
  /** SSM commands sent for the wave. */
  readonly commands: number;
}

/** One finished deployment in an app+env's release history. */
export interface Release {
  readonly app: string;
  readonly environment: string;
  readonly deploymentId: string;
  readonly version: string;
  readonly previousVersion: string | null;
  readonly status: DeploymentStatus;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationSeconds: number;
  /** When the deployed change was committed (the spec's commitTime), for the lead time for changes. */
  readonly commitTime?: string;
  /** On a manual rollback: the deployment it undid, which counts as a failed change. */
  readonly rollbackOf?: string;
}

/**
 * The release history's line for a deployment that ended with `status`: at its
 * own end time (set once by finishDeployment, `now` if it has none), so that a
 * retried close writes the same release again rather than a second one;
 * commitTime and rollbackOf (from the spec) only when set, for the DORA metrics.
 */
export function releaseOf(record: DeploymentRecord, status: DeploymentStatus, now: Date): Release {
  const { spec } = record;
  const endedAt = record.endedAt ?? now.toISOString();
  return {
    app: spec.app,
    environment: spec.environment,
    deploymentId: record.deploymentId,
    version: spec.version,
    previousVersion: spec.previousVersion ?? null,
    status,
    startedAt: record.createdAt,
    endedAt,
    durationSeconds: Math.round((Date.parse(endedAt) - Date.parse(record.createdAt)) / 1000),
    ...(spec.commitTime ? { commitTime: spec.commitTime } : {}),
    ...(spec.rollbackOf ? { rollbackOf: spec.rollbackOf } : {}),
  };
}

/** The wave number used for the rollback command's bookkeeping. */
export const ROLLBACK_WAVE = 9999;
/** The wave number used for blue-green's validation command on green. */
export const VALIDATE_WAVE = 9998;

export function pad(n: number): string {
  return String(n).padStart(4, '0');
}
