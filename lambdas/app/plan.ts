import { logger } from '#commons/powertools.ts';
import { planWaves, trafficPlan } from '#core/plan.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

export type PlanPorts = Pick<Ports, 'deployments' | 'inventory' | 'waves' | 'audit' | 'clock'>;

/** Resolves the targets to hosts, plans the waves and stores them; the state gets only counts. */
export async function planDeployment(ports: PlanPorts, state: DeploymentState): Promise<DeploymentState> {
  const { spec } = await ports.deployments.getDeployment(state.deploymentId);
  // Blue-green deploys to the idle green fleet; every other strategy to the targets.
  const hosts = await ports.inventory.resolve(spec.strategy.type === 'blueGreen' ? spec.strategy.green : spec.targets);
  const waves = planWaves(spec, hosts);
  const now = ports.clock.now();
  for (const [index, wave] of waves.entries()) await ports.waves.putWave(state.deploymentId, index, wave);
  await ports.deployments.updateDeployment(
    state.deploymentId,
    { waveCount: waves.length, hostCount: hosts.length, succeeded: 0, failed: 0 },
    now,
  );
  await ports.audit.appendEvent(state.deploymentId, 'WavesPlanned', 'deployctl', { waves: waves.map((w) => w.length) }, now);
  logger.info('waves planned', { deploymentId: state.deploymentId, waves: waves.length, hosts: hosts.length });
  const traffic =
    spec.strategy.type === 'blueGreen'
      ? { trafficStep: 0, trafficSteps: trafficPlan(spec.strategy).length, keepBlueSeconds: spec.strategy.keepBlueSeconds }
      : {};
  return { ...state, waveCount: waves.length, hostCount: hosts.length, ...traffic };
}
