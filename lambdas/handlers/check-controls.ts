import { type ControlPorts, checkControls } from '#app/controls.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

/**
 * The safe point before each wave (and after the last): acts on an abort,
 * holds for a pause, stops on a CLOSED change calendar, and says whether the next wave needs an approval.
 */
export function createCheckControls(ports: ControlPorts) {
  return parsedTask(DeploymentState, (state) => checkControls(ports, state));
}
