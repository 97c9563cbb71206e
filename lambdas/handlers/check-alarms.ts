import { AlarmFiring } from '#core/errors.ts';
import { task } from '../commons/powertools.ts';
import { DeploymentState } from '../core/state.ts';
import type { Deps } from './deps.ts';

/** The gate after each wave's bake: any of the spec's alarms in ALARM stops the deployment. */
export function createCheckAlarms(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const { spec } = await deps.deployments.getDeployment(state.deploymentId);
    const selector = spec.gates.alarms;
    if (!selector.names?.length && !selector.prefix) return state;
    const alarms = await deps.alarms.describe(selector);
    const firing = alarms.filter((a) => a.state === 'ALARM');
    const now = deps.clock.now();
    await deps.audit.appendEvent(
      state.deploymentId,
      'AlarmGate',
      'deployctl',
      { wave: state.wave - 1, alarms: alarms.length, firing: firing.map((a) => a.name) },
      now,
    );
    if (firing.length > 0) {
      throw new AlarmFiring(
        `after wave ${state.wave}: ${firing.map((a) => `${a.name} in ALARM${a.reason ? ` (${a.reason})` : ''}`).join('; ')}`,
      );
    }
    return state;
  });
}
