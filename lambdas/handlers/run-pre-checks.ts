import { type PreCheckPorts, runPreChecks } from '#app/pre-checks.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

/**
 * Hosts online in SSM, window open, alarms quiet (PreCheckFailed otherwise);
 * a closed window under `wait` puts the checks off until it opens.
 */
export function createRunPreChecks(ports: PreCheckPorts) {
  return parsedTask(DeploymentState, (state) => runPreChecks(ports, state));
}
