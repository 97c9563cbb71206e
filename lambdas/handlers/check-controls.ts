import { checkControls } from '#app/controls.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

/**
 * The safe point before each wave (and after the last): acts on an abort,
 * holds for a pause, and says whether the next wave needs an approval.
 */
export function createCheckControls(ports: Pick<Ports, 'deployments'>) {
  return parsedTask(DeploymentState, (state) => checkControls(ports, state));
}
