import { describe, expect, it } from 'vitest';
import { finalizeFanOut } from '#app/fan-out/finalize.ts';
import { givenRegions, PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

/** The parent after its waves: us-east-1 succeeded, eu-west-1 rolled back, ap-southeast-2 not started. */
async function afterWaves() {
  const started = await startedFanOut();
  givenRegions(started.ports, {
    'us-east-1': { status: 'SUCCEEDED', hosts: 4, succeeded: 4, failed: 0 },
    'eu-west-1': { status: 'ROLLED_BACK', hosts: 6, succeeded: 5, failed: 1, rolledBack: 5 },
  });
  return started;
}

describe('finalizeFanOut', () => {
  it('records the terminal status with the counts over every region and announces the end', async () => {
    const { ports, state } = await afterWaves();

    const ended = await finalizeFanOut(ports, { ...state, outcome: 'FAILED', reason: 'region eu-west-1 ROLLED_BACK' });

    expect(ended).toMatchObject({ deploymentId: PARENT, status: 'FAILED', reason: 'region eu-west-1 ROLLED_BACK' });
    expect(await ports.deployments.getDeployment(PARENT)).toMatchObject({
      status: 'FAILED',
      reason: 'region eu-west-1 ROLLED_BACK',
      endedAt: ports.clock.now().toISOString(),
      hostCount: 10,
      succeeded: 9,
      failed: 1,
      rolledBack: 5,
    });
    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({ type: 'DeploymentFinished', actor: 'deployctl', status: 'FAILED', reason: 'region eu-west-1 ROLLED_BACK' }),
    ]);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: {
          deploymentId: PARENT,
          app: 'web',
          environment: 'prod',
          version: '1.2.3',
          status: 'FAILED',
          reason: 'region eu-west-1 ROLLED_BACK',
          hosts: 10,
          failed: 1,
        },
      },
    ]);
  });

  it('announces nothing again when Step Functions retries it', async () => {
    const { ports, state } = await afterWaves();
    await finalizeFanOut(ports, { ...state, outcome: 'FAILED' });

    const again = await finalizeFanOut(ports, { ...state, outcome: 'FAILED' });

    expect(again.status).toBe('FAILED');
    expect(ports.audit.types(PARENT)).toEqual(['DeploymentFinished']);
    expect(ports.events.statuses()).toEqual(['FAILED']);
  });

  it('ends SUCCEEDED without a reason when no region failed and no error was caught', async () => {
    const { ports, state } = await startedFanOut();

    const ended = await finalizeFanOut(ports, { ...state, regionWave: 2 });

    expect(ended.status).toBe('SUCCEEDED');
    expect(ended).not.toHaveProperty('reason');
    expect(ports.events.log[0]?.detail).toMatchObject({ status: 'SUCCEEDED', reason: null, hosts: 0 });
  });

  it('ends FAILED with the caught error first in the reason', async () => {
    const { ports, state } = await startedFanOut();

    const ended = await finalizeFanOut(ports, { ...state, error: { Error: 'States.TaskFailed', Cause: 'the Map state failed' } });

    expect(ended.status).toBe('FAILED');
    expect(ended.reason).toMatch(/the Map state failed/);
  });

  it('keeps the first terminal status when the deployment had already ended otherwise', async () => {
    const { ports, state } = await startedFanOut();
    await ports.deployments.finishDeployment(PARENT, 'ABORTED', 'aborted by bob', ports.clock.now());

    const ended = await finalizeFanOut(ports, { ...state, outcome: 'SUCCEEDED' });

    expect(ended.status).toBe('ABORTED');
    expect(ports.events.log[0]?.detail).toMatchObject({ status: 'ABORTED' });
  });
});
