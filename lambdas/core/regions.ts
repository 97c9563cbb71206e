import * as z from 'zod';
import { InvalidSpec } from '#core/errors.ts';
import type { DeploymentRecord, RegionPhase, RegionProgress } from './records.ts';
import { manualRollbackSpec } from './rollback.ts';
import { type DeploymentSpec, type DeploymentSpecInput, RegionPolicy } from './spec.ts';

/**
 * Multi-region fan-out, the pure part: region waves from a spec, the spec
 * each region runs, the events between the control region and the regions,
 * and the verdict on a region wave. No AWS here.
 */

/** The control region puts this on its bus; a rule forwards it to the region's bus, where a rule starts the strategy. */
export const REGIONAL_REQUESTED = 'Regional Deployment Requested';
/** A region's deployment ended (however it ended); a rule forwards it to the control region's bus. */
export const REGIONAL_COMPLETED = 'Regional Deployment Completed';

/** The key of the fan-out machine among the startable machines (the stack output `StateMachineArns`, the API's). */
export const FAN_OUT_MACHINE = 'fanOut';

/** Deployment ids allow 80 characters; a region's is `<parent>-<region>`, its rollback's `<parent>-<region>-rb`. */
const MAX_ID = 80;

export function regionalDeploymentId(parentId: string, region: string, phase: RegionPhase = 'deploy'): string {
  return `${parentId}-${region}${phase === 'rollback' ? '-rb' : ''}`;
}

/** Whether a spec fans out to regions (and so runs on the control region's fan-out machine). */
export function isMultiRegion(spec: Pick<DeploymentSpec, 'regions' | 'regionWaves'>): boolean {
  return Boolean(spec.regions?.length || spec.regionWaves?.length);
}

/**
 * The region waves of a spec: `regionWaves` as given, or `regions` one region
 * per wave, in order (the smallest blast radius first).
 */
export function regionWavesOf(spec: Pick<DeploymentSpec, 'regions' | 'regionWaves'>): string[][] {
  if (spec.regionWaves?.length) return spec.regionWaves.map((wave) => [...wave]);
  return (spec.regions ?? []).map((region) => [region]);
}

/** The spec's region policy with its defaults. */
export function regionPolicyOf(spec: Pick<DeploymentSpec, 'regionPolicy'>): RegionPolicy {
  return RegionPolicy.parse(spec.regionPolicy ?? {});
}

/** Refuses a multi-region spec the regions could not run: no regions, or ids that would not fit. */
export function checkMultiRegion(spec: DeploymentSpec, parentId: string): void {
  const waves = regionWavesOf(spec);
  if (waves.length === 0) {
    throw new InvalidSpec([{ field: 'regions', message: 'a multi-region deployment needs regions or regionWaves' }]);
  }
  const longest = waves.flat().reduce((a, b) => (b.length > a.length ? b : a), '');
  if (regionalDeploymentId(parentId, longest, 'rollback').length > MAX_ID) {
    throw new InvalidSpec([
      {
        field: 'deploymentId',
        message: `with regions the id may have at most ${MAX_ID - longest.length - 4} characters (each region's deployment is <id>-<region>)`,
      },
    ]);
  }
}

/**
 * The spec one region runs: the parent's, without the regions, under the
 * region's own id, linked to the parent.
 */
export function regionalSpec(spec: DeploymentSpec, parentId: string, region: string): DeploymentSpecInput {
  const { regions: _r, regionWaves: _w, regionPolicy: _p, deploymentId: _id, ...rest } = spec;
  return { ...rest, deploymentId: regionalDeploymentId(parentId, region), parent: { deploymentId: parentId, region, phase: 'deploy' } };
}

/**
 * The roll-back-all policy's rollback of a region that succeeded: the previous
 * version the region resolved (its own release history's, unless the spec gave
 * one), with the same strategy, recorded as a rollback of the region's deployment.
 */
export function regionalRollbackSpec(
  spec: DeploymentSpec,
  parentId: string,
  region: string,
  progress: RegionProgress,
): DeploymentSpecInput {
  const regional = regionalSpec(spec, parentId, region);
  const original = {
    deploymentId: progress.deploymentId,
    status: progress.status,
    spec: { ...regional, previousVersion: progress.previousVersion ?? spec.previousVersion },
  } as unknown as DeploymentRecord;
  const { parent: _parent, ...rollback } = manualRollbackSpec(original, spec.requestedBy) as DeploymentSpecInput & { parent?: unknown };
  return {
    ...rollback,
    deploymentId: regionalDeploymentId(parentId, region, 'rollback'),
    parent: { deploymentId: parentId, region, phase: 'rollback' },
  };
}

/** The detail of "Regional Deployment Requested". */
export const RegionalRequested = z.object({
  parentId: z.string().min(1),
  region: z.string().min(1),
  phase: z.enum(['deploy', 'rollback']),
  deploymentId: z.string().min(1),
  /** The spec the region's strategy machine starts with (its input). */
  spec: z.record(z.string(), z.unknown()),
});
export type RegionalRequested = z.infer<typeof RegionalRequested>;

/** The detail of "Regional Deployment Completed": the region's record at its end. */
export const RegionalCompleted = z.object({
  parentId: z.string().min(1),
  region: z.string().min(1),
  phase: z.enum(['deploy', 'rollback']),
  deploymentId: z.string().min(1),
  status: z.enum(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED']),
  reason: z.string().nullable(),
  hosts: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  rolledBack: z.number().int().min(0),
  /** The version the region would go back to (its own release history's unless the spec gave one). */
  previousVersion: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string(),
});
export type RegionalCompleted = z.infer<typeof RegionalCompleted>;

/** The completion event a regional deployment sends its parent, from its record at the end. */
export function completionOf(record: DeploymentRecord): RegionalCompleted | undefined {
  const parent = record.spec.parent;
  if (!parent) return undefined;
  const status = record.status;
  if (status === 'PENDING' || status === 'RUNNING') return undefined;
  return {
    parentId: parent.deploymentId,
    region: parent.region,
    phase: parent.phase,
    deploymentId: record.deploymentId,
    status,
    reason: record.reason ?? null,
    hosts: record.hostCount ?? 0,
    succeeded: record.succeeded ?? 0,
    failed: record.failed ?? 0,
    rolledBack: record.rolledBack ?? 0,
    previousVersion: record.spec.previousVersion ?? null,
    startedAt: record.createdAt,
    endedAt: record.endedAt ?? record.updatedAt,
  };
}

/**
 * What the fan-out machine carries from state to state: references, the
 * region names of the wave to run next, and counters. The regions' progress
 * lives in the parent's record.
 */
export const FanOutState = z.object({
  deploymentId: z.string().min(1),
  app: z.string().optional(),
  environment: z.string().optional(),
  /** Index of the region wave to run next. */
  regionWave: z.number().int().min(0),
  regionWaveCount: z.number().int().min(1),
  /** The regions of the wave to run next (the Map state's items). */
  waveRegions: z.array(z.string()),
  regionBakeSeconds: z.number().int().min(0),
  regionTimeoutSeconds: z.number().int().min(1),
  onRegionFailure: z.enum(['stop', 'rollbackAll']),
  /** After a region wave: go on, stop (the later waves are not started), or roll back the regions done. */
  verdict: z.enum(['continue', 'failed', 'rollback']).optional(),
  /** The regions the roll-back-all policy rolls back (the Map state's items). */
  rollbackRegions: z.array(z.string()).optional(),
  outcome: z.enum(['SUCCEEDED', 'FAILED', 'ROLLED_BACK']).optional(),
  reason: z.string().optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  /** The Map state's results, one per region of the wave. */
  regionResults: z.unknown().optional(),
});
export type FanOutState = z.infer<typeof FanOutState>;

/** One item of a region wave's Map state: what the wait for one region is given, and what it ends with. */
export const RegionRequest = z.object({
  deploymentId: z.string().min(1),
  region: z.string().min(1),
  phase: z.enum(['deploy', 'rollback']),
  timeoutSeconds: z.number().int().min(1),
});
export type RegionRequest = z.infer<typeof RegionRequest>;

export const RegionResult = RegionRequest.extend({
  /** The region's completion (what the callback returned). */
  completion: z.unknown().optional(),
  /** Set by the Catch: the wait timed out or the request failed. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type RegionResult = z.infer<typeof RegionResult>;

const SETTLED: readonly RegionProgress['status'][] = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED', 'TIMED_OUT'];

export function isSettled(progress: Pick<RegionProgress, 'status'> | undefined): boolean {
  return progress !== undefined && SETTLED.includes(progress.status);
}

/** Why a region's wait ended without a completion, as the record and the deployment's reason say it. */
export function unansweredReason(
  region: string,
  phase: RegionPhase,
  timeoutSeconds: number,
  error: { Error: string; Cause?: string },
): string {
  const what = phase === 'rollback' ? `the rollback in region ${region}` : `region ${region}`;
  if (error.Error === 'States.Timeout') {
    return `${what} did not answer within ${timeoutSeconds} s (no "${REGIONAL_COMPLETED}" event)`;
  }
  return `${what} could not be requested: ${error.Cause ?? error.Error}`;
}

/** One line for a region that did not succeed: `region eu-west-1 ROLLED_BACK: wave 2: ...`. */
export function regionFailure(region: string, progress: RegionProgress | undefined, phase: RegionPhase = 'deploy'): string {
  const what = phase === 'rollback' ? `rollback in region ${region}` : `region ${region}`;
  if (!progress) return `${what}: no record`;
  if (progress.status === 'TIMED_OUT') return progress.reason ?? `${what} did not answer`;
  return `${what} ${progress.status}${progress.reason ? `: ${progress.reason}` : ''}`;
}

/** The regions the roll-back-all policy rolls back: every region whose deployment succeeded, in wave order. */
export function regionsToRollBack(waves: readonly (readonly string[])[], regions: Readonly<Record<string, RegionProgress>>): string[] {
  return waves.flat().filter((region) => regions[region]?.status === 'SUCCEEDED');
}

/** Hosts, successes and failures over every region (a rollback's hosts count as rolled back). */
export function aggregateCounts(regions: Readonly<Record<string, RegionProgress>>) {
  const all = Object.values(regions);
  const sum = (pick: (p: RegionProgress) => number | undefined) => all.reduce((total, p) => total + (pick(p) ?? 0), 0);
  return {
    hostCount: sum((p) => p.hosts),
    succeeded: sum((p) => p.succeeded),
    failed: sum((p) => p.failed),
    rolledBack: sum((p) => p.rolledBack) + sum((p) => (p.rollback?.status === 'SUCCEEDED' ? p.rollback.succeeded : 0)),
  };
}

/** One region as callers see it (the task token left out), with its duration. */
export interface RegionView extends Omit<RegionProgress, 'token' | 'rollback'> {
  readonly region: string;
  readonly durationSeconds?: number;
  readonly rollback?: Omit<RegionProgress, 'token' | 'rollback' | 'wave'> & { readonly durationSeconds?: number };
}

function seconds(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
}

/** Every region of a multi-region record in wave order, without the task tokens, fields in a reading order. */
export function regionViews(record: Pick<DeploymentRecord, 'regions' | 'regionWaves'>): RegionView[] {
  const regions = record.regions ?? {};
  const order = [...(record.regionWaves ?? []).flat(), ...Object.keys(regions)];
  return [...new Set(order)].flatMap((region) => {
    const progress = regions[region];
    if (!progress) return [];
    const { rollback } = progress;
    return [{ region, wave: progress.wave, ...phaseView(progress), ...(rollback ? { rollback: phaseView(rollback) } : {}) }];
  });
}

function phaseView(p: Omit<RegionProgress, 'wave' | 'rollback'>) {
  const duration = seconds(p.startedAt, p.endedAt);
  const optional = {
    reason: p.reason ?? undefined,
    hosts: p.hosts,
    succeeded: p.succeeded,
    failed: p.failed,
    rolledBack: p.rolledBack,
    previousVersion: p.previousVersion ?? undefined,
    requestedAt: p.requestedAt,
    startedAt: p.startedAt,
    endedAt: p.endedAt,
    durationSeconds: duration,
  };
  return {
    deploymentId: p.deploymentId,
    status: p.status,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  } as Omit<RegionView, 'region' | 'wave' | 'rollback'>;
}
