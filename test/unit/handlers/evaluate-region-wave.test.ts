import { describe, expect, it } from 'vitest';
import { createEvaluateRegionWave } from '#handlers/evaluate-region-wave.ts';
import { lambdaContext } from '#test/support/fixtures.ts';
import { givenRegions, PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

const result = { deploymentId: PARENT, region: 'us-east-1', phase: 'deploy', timeoutSeconds: 600 };

describe('evaluate-region-wave handler', () => {
  it("reads the Map state's results from the state and answers the verdict without them", async () => {
    const { ports, state } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'REQUESTED', token: 'token-us' } });

    const next = await createEvaluateRegionWave(ports)(
      { state: { ...state, regionResults: [{ ...result, error: { Error: 'States.Timeout' } }] }, phase: 'deploy' },
      lambdaContext,
    );

    expect(next).toMatchObject({ verdict: 'failed', outcome: 'FAILED' });
    expect(next).not.toHaveProperty('regionResults');
    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']?.status).toBe('TIMED_OUT');
  });

  it('refuses results that are not region results, writing nothing', async () => {
    const { ports, state } = await startedFanOut();
    const before = await ports.deployments.getDeployment(PARENT);

    await expect(
      createEvaluateRegionWave(ports)({ state: { ...state, regionResults: [{ region: 'us-east-1' }] }, phase: 'deploy' }, lambdaContext),
    ).rejects.toThrow();
    await expect(createEvaluateRegionWave(ports)({ state, phase: 'later' }, lambdaContext)).rejects.toThrow(/phase/);
    expect(await ports.deployments.getDeployment(PARENT)).toEqual(before);
    expect(ports.audit.types(PARENT)).toEqual([]);
  });
});
