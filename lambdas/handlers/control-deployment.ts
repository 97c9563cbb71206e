import { type ControlPorts, ControlRequest, type ControlResult, controlDeployment } from '#app/control.ts';
import { parsedTask } from '#commons/powertools.ts';

/** @deprecated import from `#app/control.ts`; re-exported while the API and the CLI move over. */
export { ControlRequest, type ControlResult, controlDeployment };

/** approve / reject / abort / pause / resume of a running deployment, recorded with who asked. */
export function createControlDeployment(ports: ControlPorts) {
  return parsedTask(ControlRequest, (request) => controlDeployment(ports, request));
}
