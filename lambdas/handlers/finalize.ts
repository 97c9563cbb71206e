import { logger, task } from '../commons/powertools.ts';
import type { DeploymentStatus } from '../core/records.ts';
import { DeploymentState, endingOf } from '../core/state.ts';
import { closeDeployment } from './close-deployment.ts';
import type { Deps } from './deps.ts';

/**
 * Last state of every execution: the terminal status, the release history
 * entry, the lock released, and the "Deployment Status Change" event.
 */
export function createFinalize(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState & { status: DeploymentStatus }> => {
    const state = DeploymentState.parse(event);
    const id = state.deploymentId;
    const { status, reason } = endingOf(state);
    const now = deps.clock.now();
    const record = await closeDeployment(
      deps,
      id,
      {
        status,
        reason,
        event: { type: 'DeploymentFinished', actor: 'deployctl', detail: { status, reason: reason ?? null } },
        hosts: state.hostCount,
        failed: state.failed,
      },
      now,
    );
    logger.info('deployment finished', { deploymentId: id, status: record.status, reason });
    return { ...state, status: record.status, ...(reason ? { reason } : {}) };
  });
}
