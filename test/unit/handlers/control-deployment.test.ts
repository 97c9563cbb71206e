import { describe, expect, it } from 'vitest';
import { createControlDeployment } from '#handlers/control-deployment.ts';
import { DEPLOYMENT_ID, lambdaContext } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

describe('control-deployment handler', () => {
  it('applies the control its input asks for and answers what was done', async () => {
    const { ports } = await runningDeployment();

    await expect(
      createControlDeployment(ports)({ deploymentId: DEPLOYMENT_ID, action: 'pause', by: 'bob' }, lambdaContext),
    ).resolves.toEqual({
      deploymentId: DEPLOYMENT_ID,
      action: 'pause',
      message: 'pause requested; it holds before the next wave',
    });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).control).toMatchObject({ action: 'PAUSE', by: 'bob' });
  });

  it('rejects an unknown action or a request that says nobody asked, changing nothing', async () => {
    const { ports } = await runningDeployment();
    const handler = createControlDeployment(ports);

    await expect(handler({ deploymentId: DEPLOYMENT_ID, action: 'explode', by: 'bob' }, lambdaContext)).rejects.toMatchObject({
      name: 'ZodError',
    });
    await expect(handler({ deploymentId: DEPLOYMENT_ID, action: 'abort' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual([]);
  });

  it('fails with ControlRefused when the control does not apply', async () => {
    const { ports } = await runningDeployment();

    await expect(
      createControlDeployment(ports)({ deploymentId: DEPLOYMENT_ID, action: 'resume', by: 'bob' }, lambdaContext),
    ).rejects.toMatchObject({ name: 'ControlRefused', message: `deployment ${DEPLOYMENT_ID} is not paused` });
  });
});
