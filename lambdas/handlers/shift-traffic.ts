import { NotBlueGreen } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { type BlueGreenStrategy, trafficPlan } from '../core/plan.ts';
import type { DeploymentSpec } from '../core/spec.ts';
import { DeploymentState, reasonOf } from '../core/state.ts';
import { weightsFor } from '../core/traffic.ts';
import type { Deps } from './deps.ts';

function blueGreenOf(spec: DeploymentSpec): BlueGreenStrategy {
  if (spec.strategy.type !== 'blueGreen') throw new NotBlueGreen(`deployment strategy is ${spec.strategy.type}, not blueGreen`);
  return spec.strategy;
}

/**
 * Blue-green: moves the listener to the next traffic step (green gets that
 * percentage, blue the rest) with one weighted forward action.
 */
export function createShiftTraffic(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const { spec } = await deps.deployments.getDeployment(state.deploymentId);
    const strategy = blueGreenOf(spec);
    const plan = trafficPlan(strategy);
    const step = state.trafficStep ?? 0;
    const green = plan[Math.min(step, plan.length - 1)] ?? 100;
    const weights = weightsFor(strategy.blueTargetGroupArn, strategy.greenTargetGroupArn, green);
    await deps.traffic.shift(strategy.listenerArn, weights);
    const now = deps.clock.now();
    await deps.audit.appendEvent(state.deploymentId, 'TrafficShifted', 'deployctl', { step: step + 1, green, blue: 100 - green }, now);
    await deps.events.put({
      detailType: 'Deployment Status Change',
      detail: { deploymentId: state.deploymentId, app: spec.app, environment: spec.environment, status: 'TRAFFIC_SHIFTED', green },
    });
    logger.info('traffic shifted', { deploymentId: state.deploymentId, step: step + 1, green });
    return { ...state, trafficStep: step + 1, trafficSteps: plan.length };
  });
}

/**
 * Blue-green's rollback: every request back to blue at once. Green keeps the
 * new version but takes no traffic. Ends ROLLED_BACK (ABORTED on an abort).
 */
export function createSwitchBack(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const { spec } = await deps.deployments.getDeployment(state.deploymentId);
    const strategy = blueGreenOf(spec);
    await deps.traffic.shift(strategy.listenerArn, weightsFor(strategy.blueTargetGroupArn, strategy.greenTargetGroupArn, 0));
    const now = deps.clock.now();
    const why = state.error ? reasonOf(state.error) : (state.reason ?? 'the deployment failed');
    await deps.audit.appendEvent(state.deploymentId, 'TrafficSwitchedBack', 'deployctl', { reason: why }, now);
    logger.warn('traffic switched back to blue', { deploymentId: state.deploymentId, reason: why });
    const outcome = state.error?.Error === 'DeploymentAborted' ? 'ABORTED' : 'ROLLED_BACK';
    return { ...state, outcome, reason: [state.reason, 'all traffic switched back to blue'].filter(Boolean).join('; ') };
  });
}
