import { type ClosePorts, finalizeDeployment } from '#app/close.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

/**
 * Last state of every execution: the terminal status, the release history
 * entry, the lock released, and the "Deployment Status Change" event.
 */
export function createFinalize(ports: ClosePorts & Pick<Ports, 'clock'>) {
  return parsedTask(DeploymentState, (state) => finalizeDeployment(ports, state));
}
