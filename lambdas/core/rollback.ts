import { RollbackRefused } from './errors.ts';
import { type DeploymentRecord, TERMINAL_STATUSES } from './records.ts';
import type { DeploymentSpec, DeploymentSpecInput } from './spec.ts';

/**
 * The spec of a manual rollback of a finished deployment: the previous
 * version, with the same targets, command and strategy, recorded as a rollback
 * of the original. Blue-green swaps the fleets: the old blue, still on the
 * previous version, becomes the green that takes the traffic back.
 */
export function manualRollbackSpec(
  original: DeploymentRecord,
  requestedBy: string,
  options: { emergency?: boolean } = {},
): DeploymentSpecInput {
  const { spec } = original;
  if (!TERMINAL_STATUSES.includes(original.status)) {
    throw new RollbackRefused(`deployment ${original.deploymentId} is ${original.status}; abort it instead of rolling it back`);
  }
  if (!spec.previousVersion) {
    throw new RollbackRefused(`deployment ${original.deploymentId} has no previous version to go back to`);
  }
  // The rollback deploys no new commit: it has no lead time of its own.
  const { deploymentId: _id, commitTime: _commit, ...rest } = spec;
  const rollback: DeploymentSpecInput = {
    ...rest,
    version: spec.previousVersion,
    previousVersion: spec.version,
    strategy: swapFleets(spec.strategy),
    requestedBy,
    rollbackOf: original.deploymentId,
  };
  return options.emergency ? emergency(rollback) : rollback;
}

/**
 * The emergency path: every host at once (blue-green: all traffic in one
 * step, blue kept no longer), no approval, no bake, no alarm gate (the alarms
 * are likely firing: that is why one rolls back), no maintenance window. A
 * host that fails ends the rollback FAILED with the hosts as they are
 * (`onFailure: abort`): rolling a rollback back would restore the bad version.
 */
function emergency(spec: DeploymentSpecInput): DeploymentSpecInput {
  const { window: _window, ...rest } = spec;
  const strategy = spec.strategy;
  return {
    ...rest,
    strategy:
      strategy?.type === 'blueGreen'
        ? { ...strategy, trafficSteps: [100], keepBlueSeconds: 0 }
        : { type: 'allAtOnce', maxErrors: strategy?.maxErrors ?? 0 },
    gates: { alarms: {}, bakeSeconds: 0, approval: 'none' },
    priority: 'emergency',
    onFailure: 'abort',
  };
}

function swapFleets(strategy: DeploymentSpec['strategy']): DeploymentSpec['strategy'] {
  if (strategy.type !== 'blueGreen') return strategy;
  return {
    ...strategy,
    blue: strategy.green,
    green: strategy.blue,
    blueTargetGroupArn: strategy.greenTargetGroupArn,
    greenTargetGroupArn: strategy.blueTargetGroupArn,
  };
}
