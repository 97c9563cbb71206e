import { type ShiftPorts, type SwitchBackPorts, shiftTraffic, switchBack } from '#app/traffic.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

/** Blue-green: moves the listener to the next traffic step with one weighted forward action. */
export function createShiftTraffic(ports: ShiftPorts) {
  return parsedTask(DeploymentState, (state) => shiftTraffic(ports, state));
}

/** Blue-green's rollback: every request back to blue at once. */
export function createSwitchBack(ports: SwitchBackPorts) {
  return parsedTask(DeploymentState, (state) => switchBack(ports, state));
}
