import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createJournal } from '#app/journal.ts';
import { logger, metrics } from '#commons/powertools.ts';
import { CLOSE_METRIC, firstFailureOfTrailingRun, RESTORE_LOOKBACK, secondsBetween, terminal } from '#core/closing.ts';
import type { DeploymentRecord, DeploymentStatus } from '#core/records.ts';
import { completionOf, REGIONAL_COMPLETED } from '#core/regions.ts';
import { type DeploymentState, endingOf } from '#core/state.ts';
import type { Ports } from '#ports';

export type ClosePorts = Pick<Ports, 'deployments' | 'releases' | 'locks' | 'audit' | 'events'>;

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
export async function closeDeployment(ports: ClosePorts, id: string, closing: Closing, now: Date): Promise<DeploymentRecord> {
  const record = await ports.deployments.finishDeployment(id, closing.status, closing.reason, now);
  const { spec } = record;
  const status = terminal(record.status);
  // The releases before this one: a success after failed changes restores service, timed from the first of them.
  const recent = (await ports.releases.listReleases(spec.app, spec.environment, RESTORE_LOOKBACK)).items;
  await ports.releases.putRelease(record, record.status, now);
  const lockReleased = await ports.locks.releaseLock(spec.app, spec.environment, id);
  // The end is announced once: a retried close (Finalize retried, or the execution-status rule after it) writes nothing twice.
  const first = await createJournal(ports).announce(
    {
      deploymentId: id,
      once: 'Closed',
      event: { type: closing.event.type, actor: closing.event.actor, detail: { ...closing.event.detail, lockReleased } },
      status: {
        app: spec.app,
        environment: spec.environment,
        version: spec.version,
        status,
        reason: closing.reason ?? null,
        hosts: closing.hosts ?? record.hostCount ?? 0,
        failed: closing.failed ?? record.failed ?? 0,
      },
    },
    now,
  );
  // Sent on every close, a retried one too: the control region takes the first and ignores repeats.
  await reportToParent(ports, record);
  if (!first) return record;
  metrics.addDimensions({ app: spec.app, environment: spec.environment });
  metrics.addMetric(CLOSE_METRIC[record.status], MetricUnit.Count, 1);
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
 * The Finalize state of every execution: ends the deployment as its states
 * left it (the outcome a Pass state marked, or the error a Catch caught).
 */
export async function finalizeDeployment(
  ports: ClosePorts & Pick<Ports, 'clock'>,
  state: DeploymentState,
): Promise<DeploymentState & { status: DeploymentStatus }> {
  const id = state.deploymentId;
  const { status, reason } = endingOf(state);
  const record = await closeDeployment(
    ports,
    id,
    {
      status,
      reason,
      event: { type: 'DeploymentFinished', actor: 'deployctl', detail: { status, reason: reason ?? null } },
      hosts: state.hostCount,
      failed: state.failed,
    },
    ports.clock.now(),
  );
  logger.info('deployment finished', { deploymentId: id, status: record.status, reason });
  return { ...state, status: record.status, ...(reason ? { reason } : {}) };
}

/**
 * Multi-region: a regional deployment the control region started tells it how
 * it ended ("Regional Deployment Completed", which a rule forwards to the
 * control region's bus), whatever ended it. Nothing for other deployments.
 */
export async function reportToParent(ports: Pick<Ports, 'events'>, record: DeploymentRecord | undefined): Promise<void> {
  if (!record?.spec?.parent) return;
  const completion = completionOf(record);
  if (completion) await ports.events.put({ detailType: REGIONAL_COMPLETED, detail: completion });
}
