import { logger } from '#commons/powertools.ts';
import { abortMessage, needsApproval } from '#core/controls.ts';
import { DeploymentAborted } from '#core/errors.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

/**
 * The safe point before each wave (and after the last): acts on an abort
 * (DeploymentAborted), holds for a pause, and says whether the next wave
 * needs an approval.
 */
export async function checkControls(ports: Pick<Ports, 'deployments'>, state: DeploymentState): Promise<DeploymentState> {
  const record = await ports.deployments.getDeployment(state.deploymentId);
  const control = record.control;
  if (control?.action === 'ABORT') throw new DeploymentAborted(abortMessage(control));
  if (control?.action === 'PAUSE') {
    logger.info('paused before the next wave', { deploymentId: state.deploymentId, by: control.by });
    return { ...state, gate: 'paused' };
  }
  return { ...state, gate: needsApproval(state, record.spec.gates.approval) ? 'approval' : 'go' };
}
