import { AlarmFiring } from '#core/errors.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

export type AlarmGatePorts = Pick<Ports, 'deployments' | 'alarms' | 'audit' | 'clock'>;

/** The gate after each wave's bake: any of the spec's alarms in ALARM stops the deployment (AlarmFiring). */
export async function checkAlarms(ports: AlarmGatePorts, state: DeploymentState): Promise<DeploymentState> {
  const { spec } = await ports.deployments.getDeployment(state.deploymentId);
  const selector = spec.gates.alarms;
  if (!selector.names?.length && !selector.prefix) return state;
  const alarms = await ports.alarms.describe(selector);
  const firing = alarms.filter((a) => a.state === 'ALARM');
  const now = ports.clock.now();
  await ports.audit.appendEvent(
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
}
