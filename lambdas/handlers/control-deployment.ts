import { type ControlPorts, controlDeployment } from '#app/control.ts';
import { parsedTask } from '#commons/powertools.ts';
import { ControlRequest } from '#core/api-contract.ts';

/** approve / reject / abort / pause / resume of a running deployment, recorded with who asked. */
export function createControlDeployment(ports: ControlPorts) {
  return parsedTask(ControlRequest, (request) => controlDeployment(ports, request));
}
