import { describe, expect, it } from 'vitest';
import { controlDeployment } from '#app/control.ts';
import { ControlRefused } from '#core/errors.ts';
import type { Gate } from '#core/records.ts';
import { DEPLOYMENT_ID } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const since = '2026-03-02T09:00:00.000Z';
const approvalGate: Gate = { kind: 'approval', wave: 1, token: 'approve-me', since };

describe('controlDeployment', () => {
  it('approves the awaited wave: clears the gate, records who approved and wakes the execution', async () => {
    const { ports } = await runningDeployment({}, { gate: approvalGate });

    const result = await controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: 'alice', comment: 'lgtm' });

    expect(result).toEqual({ deploymentId: DEPLOYMENT_ID, action: 'approve', message: 'wave 2 approved by alice' });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate ?? null).toBeNull();
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'Approved', actor: 'alice', wave: 1, comment: 'lgtm' }]);
    expect(ports.callbacks.answers).toEqual([{ token: 'approve-me', output: { approvedBy: 'alice' } }]);
  });

  it('rejects the awaited wave by failing its wait with ApprovalRejected', async () => {
    const { ports } = await runningDeployment({}, { gate: approvalGate });

    await controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'reject', by: 'bob', comment: 'not now' });

    expect(ports.callbacks.answers).toEqual([{ token: 'approve-me', error: 'ApprovalRejected', cause: 'wave 2 rejected by bob: not now' }]);
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['Rejected']);
  });

  it('refuses a second answer to the same gate', async () => {
    const { ports } = await runningDeployment({}, { gate: approvalGate });
    await controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: 'alice' });

    await expect(controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: 'carol' })).rejects.toBeInstanceOf(
      ControlRefused,
    );
    expect(ports.callbacks.answers).toHaveLength(1);
  });

  it('refuses an approval when the deployment waits for none', async () => {
    const { ports } = await runningDeployment();

    await expect(controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: 'alice' })).rejects.toThrow(
      new ControlRefused(`deployment ${DEPLOYMENT_ID} is not waiting for an approval; nothing to approve`),
    );
  });

  it('aborts at a gate at once, and otherwise after the current wave', async () => {
    const atGate = await runningDeployment({}, { gate: approvalGate });
    const running = await runningDeployment();

    const now = await controlDeployment(atGate.ports, { deploymentId: DEPLOYMENT_ID, action: 'abort', by: 'alice' });
    const later = await controlDeployment(running.ports, { deploymentId: DEPLOYMENT_ID, action: 'abort', by: 'alice' });

    expect(now.message).toBe('aborted; rolling back the changed hosts');
    expect(atGate.ports.callbacks.answers).toEqual([{ token: 'approve-me', error: 'DeploymentAborted', cause: 'aborted by alice' }]);
    expect(later.message).toBe('abort requested; it takes effect after the current wave');
    expect((await running.ports.deployments.getDeployment(DEPLOYMENT_ID)).control).toMatchObject({ action: 'ABORT', by: 'alice' });
    expect(running.ports.audit.types(DEPLOYMENT_ID)).toEqual(['AbortRequested']);
  });

  it('pauses, refuses a second pause, and resumes by waking the paused execution', async () => {
    const { ports } = await runningDeployment();
    await controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'pause', by: 'bob' });
    await expect(controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'pause', by: 'bob' })).rejects.toBeInstanceOf(
      ControlRefused,
    );
    await ports.deployments.updateDeployment(
      DEPLOYMENT_ID,
      { gate: { kind: 'resume', wave: 0, token: 'resume-me', since } },
      ports.clock.now(),
    );

    const result = await controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'resume', by: 'bob' });

    expect(result.message).toBe('resumed');
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).control ?? null).toBeNull();
    expect(ports.callbacks.answers).toEqual([{ token: 'resume-me', output: { resumedBy: 'bob' } }]);
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['PauseRequested', 'Resumed']);
  });

  it('refuses a control of a deployment that has ended', async () => {
    const { ports } = await runningDeployment();
    await ports.deployments.finishDeployment(DEPLOYMENT_ID, 'SUCCEEDED', undefined, ports.clock.now());

    await expect(controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'abort', by: 'alice' })).rejects.toThrow(
      new ControlRefused(`deployment ${DEPLOYMENT_ID} is SUCCEEDED; only a running deployment can be told to abort`),
    );
  });

  it('turns an answer the execution no longer waits for into a refusal', async () => {
    const { ports } = await runningDeployment({}, { gate: approvalGate });
    ports.callbacks.stale.set('approve-me', 'TaskTimedOut');

    await expect(controlDeployment(ports, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: 'alice' })).rejects.toThrow(
      new ControlRefused('the execution no longer waits for this answer (it ended or timed out)'),
    );
  });
});
