import type { Control } from '#core/records.ts';
import type { DeploymentState } from '#core/state.ts';

/** Who holds a deployment that paused itself on a failed gate (spec `onFailure: pause`). */
export const FAILURE_POLICY_ACTOR = 'deployctl (onFailure: pause)';

/** What comes after this safe point: a wave, a traffic step (blue-green), or nothing. */
export function nextStep(state: DeploymentState): 'wave' | 'traffic' | 'done' {
  if (state.wave < state.waveCount) return 'wave';
  if ((state.trafficStep ?? 0) < (state.trafficSteps ?? 0)) return 'traffic';
  return 'done';
}

/** The DeploymentAborted message for an abort control: who asked, and why if they said. */
export function abortMessage(control: Pick<Control, 'by' | 'comment'>): string {
  return `aborted by ${control.by}${control.comment ? `: ${control.comment}` : ''}`;
}

/** Whether the next step needs an approval first, under the spec's approval gate. */
export function needsApproval(state: DeploymentState, approval: string | undefined): boolean {
  return nextStep(state) !== 'done' && (approval === 'everyWave' || (approval === 'firstWave' && state.wave === 0));
}
