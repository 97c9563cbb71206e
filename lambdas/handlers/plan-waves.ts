import { logger, task } from '../commons/powertools.ts';
import { planWaves, trafficPlan } from '../core/plan.ts';
import { DeploymentState } from '../core/state.ts';
import type { Deps } from './deps.ts';

/** Resolves the targets to hosts, plans the waves and stores them; returns only counts. */
export function createPlanWaves(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const { spec } = await deps.deployments.getDeployment(state.deploymentId);
    // Blue-green deploys to the idle green fleet; every other strategy to the targets.
    const hosts = await deps.inventory.resolve(spec.strategy.type === 'blueGreen' ? spec.strategy.green : spec.targets);
    const waves = planWaves(spec, hosts);
    const now = deps.clock.now();
    for (const [index, wave] of waves.entries()) await deps.waves.putWave(state.deploymentId, index, wave);
    await deps.deployments.updateDeployment(
      state.deploymentId,
      { waveCount: waves.length, hostCount: hosts.length, succeeded: 0, failed: 0 },
      now,
    );
    await deps.audit.appendEvent(state.deploymentId, 'WavesPlanned', 'deployctl', { waves: waves.map((w) => w.length) }, now);
    logger.info('waves planned', { deploymentId: state.deploymentId, waves: waves.length, hosts: hosts.length });
    const traffic =
      spec.strategy.type === 'blueGreen'
        ? { trafficStep: 0, trafficSteps: trafficPlan(spec.strategy).length, keepBlueSeconds: spec.strategy.keepBlueSeconds }
        : {};
    return { ...state, waveCount: waves.length, hostCount: hosts.length, ...traffic };
  });
}
