import { describe, expect, it } from 'vitest';
import { createAwaitGate } from '#handlers/await-gate.ts';
import { DEPLOYMENT_ID, lambdaContext, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

describe('await-gate handler', () => {
  it('parks the execution at the gate its input names', async () => {
    const { ports } = await runningDeployment();
    const handler = createAwaitGate(ports);

    await expect(handler({ state: stateOf({ wave: 1 }), taskToken: 'tok', kind: 'approval' }, lambdaContext)).resolves.toEqual({
      waiting: true,
    });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate).toMatchObject({ kind: 'approval', wave: 1, token: 'tok' });
  });

  it('rejects an input without a task token or with an unknown gate, storing nothing', async () => {
    const { ports } = await runningDeployment();
    const handler = createAwaitGate(ports);

    await expect(handler({ state: stateOf(), taskToken: '', kind: 'approval' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    await expect(handler({ state: stateOf(), taskToken: 'tok', kind: 'lunch' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).gate).toBeUndefined();
  });

  it('fails with DeploymentAborted, the name the state machine catches, when an abort is pending', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'ABORT', by: 'alice', at: '2026-03-02T09:00:00.000Z' } });

    await expect(createAwaitGate(ports)({ state: stateOf(), taskToken: 'tok', kind: 'approval' }, lambdaContext)).rejects.toMatchObject({
      name: 'DeploymentAborted',
      message: 'aborted by alice',
    });
  });
});
