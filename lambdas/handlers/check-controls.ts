import { DeploymentAborted } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { DeploymentState } from '../core/state.ts';
import type { Deps } from './deps.ts';

/**
 * The safe point before each wave (and after the last): acts on an abort,
 * holds for a pause, and says whether the next wave needs an approval.
 */
export function createCheckControls(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const record = await deps.deployments.getDeployment(state.deploymentId);
    const control = record.control;
    if (control?.action === 'ABORT') {
      throw new DeploymentAborted(`aborted by ${control.by}${control.comment ? `: ${control.comment}` : ''}`);
    }
    if (control?.action === 'PAUSE') {
      logger.info('paused before the next wave', { deploymentId: state.deploymentId, by: control.by });
      return { ...state, gate: 'paused' };
    }
    const next = nextStep(state);
    const approval = record.spec.gates.approval;
    const needsApproval = next !== 'done' && (approval === 'everyWave' || (approval === 'firstWave' && state.wave === 0));
    return { ...state, gate: needsApproval ? 'approval' : 'go' };
  });
}

/** What comes after this safe point: a wave, a traffic step (blue-green), or nothing. */
export function nextStep(state: DeploymentState): 'wave' | 'traffic' | 'done' {
  if (state.wave < state.waveCount) return 'wave';
  if ((state.trafficStep ?? 0) < (state.trafficSteps ?? 0)) return 'traffic';
  return 'done';
}
