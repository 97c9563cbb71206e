import * as z from 'zod';
import { DeploymentAborted } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { DeploymentState, reasonOf } from '../core/state.ts';
import type { Deps } from './deps.ts';

const Input = z.object({ state: DeploymentState, taskToken: z.string().min(1), kind: z.enum(['approval', 'resume', 'failure']) });

/** Who holds a deployment that paused itself on a failed gate (spec `onFailure: pause`). */
export const FAILURE_POLICY_ACTOR = 'deployctl (onFailure: pause)';

/**
 * Parks the execution before a wave: stores the task token on the deployment
 * so that `approve`, `reject`, `resume` or `abort` can wake it, records who is
 * awaited in the audit trail and announces it. The execution then waits.
 */
export function createAwaitGate(deps: Deps) {
  return task(async (event: unknown): Promise<{ waiting: boolean }> => {
    const { state, taskToken, kind: asked } = Input.parse(event);
    const id = state.deploymentId;
    const now = deps.clock.now();
    // A failed gate under `onFailure: pause` is a pause the deployment asks for itself: `resume` or `abort` answer it.
    const kind = asked === 'failure' ? 'resume' : asked;
    if (asked === 'failure') {
      const reason = state.reason ?? (state.error ? reasonOf(state.error) : 'a gate failed');
      await deps.deployments.updateDeployment(
        id,
        { control: { action: 'PAUSE', by: FAILURE_POLICY_ACTOR, at: now.toISOString(), comment: reason } },
        now,
      );
      await deps.audit.appendEvent(id, 'PausedOnFailure', FAILURE_POLICY_ACTOR, { wave: state.wave, reason }, now);
    }
    await deps.deployments.updateDeployment(id, { gate: { kind, wave: state.wave, token: taskToken, since: now.toISOString() } }, now);

    // Read again after storing the token: a control that arrived in between has not seen it.
    const record = await deps.deployments.getDeployment(id);
    if (record.control?.action === 'ABORT') {
      await deps.deployments.updateDeployment(id, { gate: null }, now);
      throw new DeploymentAborted(`aborted by ${record.control.by}${record.control.comment ? `: ${record.control.comment}` : ''}`);
    }
    if (kind === 'resume' && record.control?.action !== 'PAUSE') {
      await deps.deployments.updateDeployment(id, { gate: null }, now);
      await deps.callbacks.succeed(taskToken, { resumed: true });
      return { waiting: false };
    }

    await deps.audit.appendEvent(id, kind === 'approval' ? 'ApprovalRequested' : 'Paused', 'deployctl', { wave: state.wave }, now);
    await deps.events.put({
      detailType: 'Deployment Status Change',
      detail: {
        deploymentId: id,
        app: record.spec.app,
        environment: record.spec.environment,
        version: record.spec.version,
        status: kind === 'approval' ? 'AWAITING_APPROVAL' : 'PAUSED',
        wave: state.wave,
      },
    });
    logger.info(kind === 'approval' ? 'waiting for approval' : 'paused', { deploymentId: id, wave: state.wave });
    return { waiting: true };
  });
}
