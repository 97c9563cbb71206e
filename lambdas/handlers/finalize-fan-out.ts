import { terminal } from '#core/closing.ts';
import { logger, task } from '../commons/powertools.ts';
import type { DeploymentStatus } from '../core/records.ts';
import { aggregateCounts, FanOutState } from '../core/regions.ts';
import { endingOf } from '../core/state.ts';
import type { FanOutDeps } from './start-fan-out.ts';

/**
 * Last state of the fan-out machine: the parent's terminal status (SUCCEEDED,
 * FAILED, or ROLLED_BACK when the roll-back-all policy rolled every region
 * done back), the counts over every region, the audit event and the
 * "Deployment Status Change" event. The parent writes no release history and
 * holds no lock: each region's deployment does both in its region.
 */
export function createFinalizeFanOut(deps: FanOutDeps) {
  return task(async (event: unknown): Promise<FanOutState & { status: DeploymentStatus }> => {
    const state = FanOutState.parse(event);
    const id = state.deploymentId;
    const { status, reason } = endingOf(state);
    const now = deps.clock.now();
    const counts = aggregateCounts((await deps.deployments.getDeployment(id)).regions ?? {});
    await deps.deployments.updateDeployment(id, counts, now);
    const record = await deps.deployments.finishDeployment(id, status, reason, now);
    // Announced once, as a strategy deployment's close is: a retried finalize writes nothing twice.
    const first = await deps.audit.appendEventOnce(
      id,
      'Closed',
      'DeploymentFinished',
      'deployctl',
      { status: record.status, reason: reason ?? null },
      now,
    );
    if (first) {
      await deps.events.put({
        detailType: 'Deployment Status Change',
        detail: {
          deploymentId: id,
          app: record.spec.app,
          environment: record.spec.environment,
          version: record.spec.version,
          status: terminal(record.status),
          reason: reason ?? null,
          hosts: counts.hostCount,
          failed: counts.failed,
        },
      });
    }
    logger.info('multi-region deployment finished', { deploymentId: id, status: record.status, reason });
    return { ...state, status: record.status, ...(reason ? { reason } : {}) };
  });
}
