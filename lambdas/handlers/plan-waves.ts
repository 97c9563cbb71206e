import { type PlanPorts, planDeployment } from '#app/plan.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

/** Resolves the targets to hosts, plans the waves and stores them; returns only counts. */
export function createPlanWaves(ports: PlanPorts) {
  return parsedTask(DeploymentState, (state) => planDeployment(ports, state));
}
