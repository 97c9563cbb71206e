import { describe, expect, it } from 'vitest';
import { awaitGate } from '#app/gate.ts';
import { FAILURE_POLICY_ACTOR } from '#core/controls.ts';
import { DeploymentAborted } from '#core/errors.ts';
import { DEPLOYMENT_ID, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const TOKEN = 'gate-token';
const at = '2026-03-02T09:00:00.000Z';

describe('awaitGate', () => {
  it('stores the token on the deployment and announces AWAITING_APPROVAL', async () => {
    const { ports } = await runningDeployment();

    await expect(awaitGate(ports, { state: stateOf({ wave: 1 }), taskToken: TOKEN, kind: 'approval' })).resolves.toEqual({ waiting: true });

    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate).toEqual({
      kind: 'approval',
      wave: 1,
      token: TOKEN,
      since: ports.clock.now().toISOString(),
    });
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'ApprovalRequested', actor: 'deployctl', wave: 1 }]);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: { deploymentId: DEPLOYMENT_ID, app: 'web', environment: 'prod', version: '1.2.3', status: 'AWAITING_APPROVAL', wave: 1 },
      },
    ]);
  });

  it('announces PAUSED while a pause holds the deployment', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'PAUSE', by: 'bob', at } });

    await expect(awaitGate(ports, { state: stateOf(), taskToken: TOKEN, kind: 'resume' })).resolves.toEqual({ waiting: true });

    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['Paused']);
    expect(ports.events.statuses()).toEqual(['PAUSED']);
  });

  it('wakes itself at once when the pause was lifted before its token was stored', async () => {
    const { ports } = await runningDeployment();

    await expect(awaitGate(ports, { state: stateOf(), taskToken: TOKEN, kind: 'resume' })).resolves.toEqual({ waiting: false });

    expect(ports.callbacks.answers).toEqual([{ token: TOKEN, output: { resumed: true } }]);
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate ?? null).toBeNull();
    expect(ports.events.log).toEqual([]);
  });

  it('throws DeploymentAborted and clears the gate when an abort arrived before the token was stored', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'ABORT', by: 'alice', at } });

    await expect(awaitGate(ports, { state: stateOf(), taskToken: TOKEN, kind: 'approval' })).rejects.toThrow(
      new DeploymentAborted('aborted by alice'),
    );
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate ?? null).toBeNull();
  });

  it('pauses the deployment itself on a failed gate under onFailure: pause, with the reason', async () => {
    const { ports } = await runningDeployment();

    await awaitGate(ports, { state: stateOf({ wave: 2, reason: 'wave 2: too many failures' }), taskToken: TOKEN, kind: 'failure' });

    const record = await ports.deployments.getDeployment(DEPLOYMENT_ID);
    expect(record.control).toMatchObject({ action: 'PAUSE', by: FAILURE_POLICY_ACTOR, comment: 'wave 2: too many failures' });
    expect(record.gate).toMatchObject({ kind: 'resume', wave: 2 });
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['PausedOnFailure', 'Paused']);
    expect(ports.events.statuses()).toEqual(['PAUSED']);
  });
});
