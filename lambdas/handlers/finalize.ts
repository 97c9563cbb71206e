import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics, task } from '../commons/powertools.ts';
import type { DeploymentStatus } from '../core/records.ts';
import { DeploymentState, reasonOf } from '../core/state.ts';
import type { Deps } from './deps.ts';

/**
 * Last state of every execution: the terminal status, the release history
 * entry, the lock released, and the "Deployment Status Change" event.
 */
export function createFinalize(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState & { status: DeploymentStatus }> => {
    const state = DeploymentState.parse(event);
    const id = state.deploymentId;
    const status: DeploymentStatus = state.outcome ?? (state.error ? 'FAILED' : 'SUCCEEDED');
    const reason = [state.error ? reasonOf(state.error) : undefined, state.reason].filter(Boolean).join('; ') || undefined;
    const now = deps.clock.now();
    const record = await deps.records.finishDeployment(id, status, reason, now);
    const { spec } = record;
    await deps.records.putRelease(record, record.status, now);
    const released = await deps.records.releaseLock(spec.app, spec.environment, id);
    await deps.records.appendEvent(
      id,
      'DeploymentFinished',
      'deployctl',
      { status: record.status, reason: reason ?? null, lockReleased: released },
      now,
    );
    await deps.events.put({
      detailType: 'Deployment Status Change',
      detail: {
        deploymentId: id,
        app: spec.app,
        environment: spec.environment,
        version: spec.version,
        status: record.status,
        reason: reason ?? null,
        hosts: state.hostCount,
        failed: state.failed,
      },
    });
    metrics.addDimensions({ app: spec.app, environment: spec.environment });
    metrics.addMetric(
      `Deployments${record.status === 'SUCCEEDED' ? 'Succeeded' : record.status === 'ROLLED_BACK' ? 'RolledBack' : 'Failed'}`,
      MetricUnit.Count,
      1,
    );
    logger.info('deployment finished', { deploymentId: id, status: record.status, reason });
    return { ...state, status: record.status, ...(reason ? { reason } : {}) };
  });
}
