import { type AlarmGatePorts, checkAlarms } from '#app/alarm-gate.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

/** The gate after each wave's bake: any of the spec's alarms in ALARM stops the deployment. */
export function createCheckAlarms(ports: AlarmGatePorts) {
  return parsedTask(DeploymentState, (state) => checkAlarms(ports, state));
}
