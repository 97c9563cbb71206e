import { createJournal } from '#app/journal.ts';
import { logger } from '#commons/powertools.ts';
import { NotBlueGreen } from '#core/errors.ts';
import { type BlueGreenStrategy, trafficPlan } from '#core/plan.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import { type DeploymentState, reasonOf } from '#core/state.ts';
import { weightsFor } from '#core/traffic.ts';
import type { Ports } from '#ports';

export type ShiftPorts = Pick<Ports, 'deployments' | 'traffic' | 'audit' | 'events' | 'clock'>;
export type SwitchBackPorts = Pick<Ports, 'deployments' | 'traffic' | 'audit' | 'clock'>;

function blueGreenOf(spec: DeploymentSpec): BlueGreenStrategy {
  if (spec.strategy.type !== 'blueGreen') throw new NotBlueGreen(`deployment strategy is ${spec.strategy.type}, not blueGreen`);
  return spec.strategy;
}

/**
 * Blue-green: moves the listener to the next traffic step (green gets that
 * percentage, blue the rest) with one weighted forward action. NotBlueGreen
 * for any other strategy.
 */
export async function shiftTraffic(ports: ShiftPorts, state: DeploymentState): Promise<DeploymentState> {
  const { spec } = await ports.deployments.getDeployment(state.deploymentId);
  const strategy = blueGreenOf(spec);
  const plan = trafficPlan(strategy);
  const step = state.trafficStep ?? 0;
  const green = plan[Math.min(step, plan.length - 1)] ?? 100;
  await ports.traffic.shift(strategy.listenerArn, weightsFor(strategy.blueTargetGroupArn, strategy.greenTargetGroupArn, green));
  await createJournal(ports).announce(
    {
      deploymentId: state.deploymentId,
      event: { type: 'TrafficShifted', actor: 'deployctl', detail: { step: step + 1, green, blue: 100 - green } },
      status: { app: spec.app, environment: spec.environment, status: 'TRAFFIC_SHIFTED', green },
    },
    ports.clock.now(),
  );
  logger.info('traffic shifted', { deploymentId: state.deploymentId, step: step + 1, green });
  return { ...state, trafficStep: step + 1, trafficSteps: plan.length };
}

/**
 * Blue-green's rollback: every request back to blue at once. Green keeps the
 * new version but takes no traffic. Ends ROLLED_BACK (ABORTED on an abort).
 */
export async function switchBack(ports: SwitchBackPorts, state: DeploymentState): Promise<DeploymentState> {
  const { spec } = await ports.deployments.getDeployment(state.deploymentId);
  const strategy = blueGreenOf(spec);
  await ports.traffic.shift(strategy.listenerArn, weightsFor(strategy.blueTargetGroupArn, strategy.greenTargetGroupArn, 0));
  const why = state.error ? reasonOf(state.error) : (state.reason ?? 'the deployment failed');
  await ports.audit.appendEvent(state.deploymentId, 'TrafficSwitchedBack', 'deployctl', { reason: why }, ports.clock.now());
  logger.warn('traffic switched back to blue', { deploymentId: state.deploymentId, reason: why });
  const outcome = state.error?.Error === 'DeploymentAborted' ? 'ABORTED' : 'ROLLED_BACK';
  return { ...state, outcome, reason: [state.reason, 'all traffic switched back to blue'].filter(Boolean).join('; ') };
}
