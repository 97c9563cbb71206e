import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '../commons/powertools.ts';
import type { DeploymentRecord, DeploymentStatus, Release } from '../core/records.ts';
import { completionOf, REGIONAL_COMPLETED } from '../core/regions.ts';
import type { Deps } from './deps.ts';

const METRIC: Record<DeploymentStatus, string> = {
  PENDING: 'DeploymentsFailed',
  RUNNING: 'DeploymentsFailed',
  SUCCEEDED: 'DeploymentsSucceeded',
  FAILED: 'DeploymentsFailed',
  ROLLED_BACK: 'DeploymentsRolledBack',
  ABORTED: 'DeploymentsAborted',
};

export interface Closing {
  readonly status: DeploymentStatus;
  readonly reason: string | undefined;
  /** The audit event that says who ended it. */
  readonly event: { readonly type: string; readonly actor: string; readonly detail: Record<string, unknown> };
  /** Counts for the status event. @default the record's */
  readonly hosts?: number;
  readonly failed?: number;
}

/**
 * The end of every deployment, whoever ends it (the Finalize state, or the
 * execution-status rule for an execution that never reached it): terminal
 * status, release history, lock released, audit event, "Deployment Status
 * Change" event and metric.
 */
export async function closeDeployment(
  deps: Pick<Deps, 'deployments' | 'releases' | 'locks' | 'audit' | 'events'>,
  id: string,
  closing: Closing,
  now: Date,
): Promise<DeploymentRecord> {
  const record = await deps.deployments.finishDeployment(id, closing.status, closing.reason, now);
  const { spec } = record;
  const status = terminal(record.status);
  // The releases before this one: a success after failed changes restores service, timed from the first of them.
  const recent = (await deps.releases.listReleases(spec.app, spec.environment, RESTORE_LOOKBACK)).items;
  await deps.releases.putRelease(record, record.status, now);
  const lockReleased = await deps.locks.releaseLock(spec.app, spec.environment, id);
  // The end is announced once: a retried close (Finalize retried, or the execution-status rule after it) writes nothing twice.
  const first = await deps.audit.appendEventOnce(
    id,
    'Closed',
    closing.event.type,
    closing.event.actor,
    { ...closing.event.detail, lockReleased },
    now,
  );
  // Sent on every close, a retried one too: the control region takes the first and ignores repeats.
  await reportToParent(deps, record);
  if (!first) return record;
  await deps.events.put({
    detailType: 'Deployment Status Change',
    detail: {
      deploymentId: id,
      app: spec.app,
      environment: spec.environment,
      version: spec.version,
      status,
      reason: closing.reason ?? null,
      hosts: closing.hosts ?? record.hostCount ?? 0,
      failed: closing.failed ?? record.failed ?? 0,
    },
  });
  metrics.addDimensions({ app: spec.app, environment: spec.environment });
  metrics.addMetric(METRIC[record.status], MetricUnit.Count, 1);
  metrics.addMetric('DeploymentDurationSeconds', MetricUnit.Seconds, secondsBetween(record.createdAt, now));
  if (status === 'SUCCEEDED') {
    // DORA: lead time for changes (commit to running in the environment) and time to restore.
    const commitTime = (spec as { commitTime?: string }).commitTime;
    if (commitTime) metrics.addMetric('LeadTimeSeconds', MetricUnit.Seconds, secondsBetween(commitTime, now));
    const brokenSince = firstFailureOfTrailingRun(recent);
    if (brokenSince) metrics.addMetric('TimeToRestoreSeconds', MetricUnit.Seconds, secondsBetween(brokenSince, now));
  }
  return record;
}

/**
 * Multi-region: a regional deployment the control region started tells it how
 * it ended ("Regional Deployment Completed", which a rule forwards to the
 * control region's bus), whatever ended it. Nothing for other deployments.
 */
export async function reportToParent(deps: Pick<Deps, 'events'>, record: DeploymentRecord | undefined): Promise<void> {
  if (!record?.spec?.parent) return;
  const completion = completionOf(record);
  if (completion) await deps.events.put({ detailType: REGIONAL_COMPLETED, detail: completion });
}

/** Releases read back to find when service broke (as `deployctl metrics` counts time to restore). */
const RESTORE_LOOKBACK = 20;

/**
 * The end of the first failed change of the failures just before now (newest
 * first in `releases`), skipping aborted deployments; undefined when the last
 * change did not fail.
 */
function firstFailureOfTrailingRun(releases: readonly Release[]): string | undefined {
  let first: string | undefined;
  for (const release of releases) {
    if (release.status === 'ABORTED') continue;
    if (release.status !== 'FAILED' && release.status !== 'ROLLED_BACK') break;
    first = release.endedAt;
  }
  return first;
}

function secondsBetween(from: string, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - Date.parse(from)) / 1000));
}

/** The record's status at its end: always terminal (finishDeployment keeps the first terminal status). */
/** A closed deployment's status, which can only be a terminal one. */
export function terminal(status: DeploymentStatus): Exclude<DeploymentStatus, 'PENDING' | 'RUNNING'> {
  if (status === 'PENDING' || status === 'RUNNING') throw new Error(`a closed deployment cannot be ${status}`);
  return status;
}
