import { createJournal } from '#app/journal.ts';
import { logger } from '#commons/powertools.ts';
import { abortMessage, FAILURE_POLICY_ACTOR } from '#core/controls.ts';
import { DeploymentAborted } from '#core/errors.ts';
import { type DeploymentState, reasonOf } from '#core/state.ts';
import type { Ports } from '#ports';

export type GatePorts = Pick<Ports, 'deployments' | 'audit' | 'events' | 'callbacks' | 'clock'>;

/** A gate to park the execution at: an approval, a pause (resume), or a failed gate under `onFailure: pause`. */
export interface GateRequest {
  readonly state: DeploymentState;
  readonly taskToken: string;
  readonly kind: 'approval' | 'resume' | 'failure';
}

/**
 * Parks the execution before a wave: stores the task token on the deployment
 * so that `approve`, `reject`, `resume` or `abort` can wake it, records who is
 * awaited in the audit trail and announces it. The execution then waits
 * (`waiting: false` when it was woken already).
 */
export async function awaitGate(ports: GatePorts, request: GateRequest): Promise<{ waiting: boolean }> {
  const { state, taskToken, kind: asked } = request;
  const id = state.deploymentId;
  const now = ports.clock.now();
  // A failed gate under `onFailure: pause` is a pause the deployment asks for itself: `resume` or `abort` answer it.
  const kind = asked === 'failure' ? 'resume' : asked;
  if (asked === 'failure') {
    const reason = state.reason ?? (state.error ? reasonOf(state.error) : 'a gate failed');
    await ports.deployments.updateDeployment(
      id,
      { control: { action: 'PAUSE', by: FAILURE_POLICY_ACTOR, at: now.toISOString(), comment: reason } },
      now,
    );
    await ports.audit.appendEvent(id, 'PausedOnFailure', FAILURE_POLICY_ACTOR, { wave: state.wave, reason }, now);
  }
  await ports.deployments.updateDeployment(id, { gate: { kind, wave: state.wave, token: taskToken, since: now.toISOString() } }, now);

  // Read again after storing the token: a control that arrived in between has not seen it.
  const record = await ports.deployments.getDeployment(id);
  if (record.control?.action === 'ABORT') {
    await ports.deployments.updateDeployment(id, { gate: null }, now);
    throw new DeploymentAborted(abortMessage(record.control));
  }
  if (kind === 'resume' && record.control?.action !== 'PAUSE') {
    await ports.deployments.updateDeployment(id, { gate: null }, now);
    await ports.callbacks.succeed(taskToken, { resumed: true });
    return { waiting: false };
  }

  await createJournal(ports).announce(
    {
      deploymentId: id,
      event: { type: kind === 'approval' ? 'ApprovalRequested' : 'Paused', actor: 'deployctl', detail: { wave: state.wave } },
      status: {
        app: record.spec.app,
        environment: record.spec.environment,
        version: record.spec.version,
        status: kind === 'approval' ? 'AWAITING_APPROVAL' : 'PAUSED',
        wave: state.wave,
      },
    },
    now,
  );
  logger.info(kind === 'approval' ? 'waiting for approval' : 'paused', { deploymentId: id, wave: state.wave });
  return { waiting: true };
}
