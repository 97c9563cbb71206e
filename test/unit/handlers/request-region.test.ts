import { describe, expect, it } from 'vitest';
import { createRequestRegion } from '#handlers/request-region.ts';
import { lambdaContext } from '#test/support/fixtures.ts';
import { PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

const request = { deploymentId: PARENT, region: 'us-east-1', phase: 'deploy', timeoutSeconds: 600 };

describe('request-region handler', () => {
  it('requests the region with the Map item and the task token, and answers the regional deployment id', async () => {
    const { ports } = await startedFanOut();

    const result = await createRequestRegion(ports)({ request, taskToken: 'token-us' }, lambdaContext);

    expect(result).toEqual({ requested: `${PARENT}-us-east-1` });
    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']).toMatchObject({
      status: 'REQUESTED',
      token: 'token-us',
    });
    expect(ports.events.log.map((e) => e.detailType)).toEqual(['Regional Deployment Requested']);
  });

  it('refuses an item without a task token or with an unknown phase, requesting nothing', async () => {
    const { ports } = await startedFanOut();
    const handler = createRequestRegion(ports);

    await expect(handler({ request }, lambdaContext)).rejects.toThrow(/taskToken/);
    await expect(handler({ request: { ...request, phase: 'redeploy' }, taskToken: 't' }, lambdaContext)).rejects.toThrow(/phase/);
    expect(ports.events.log).toEqual([]);
  });
});
