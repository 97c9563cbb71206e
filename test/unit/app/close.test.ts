import { describe, expect, it } from 'vitest';
import { closeDeployment, finalizeDeployment, reportToParent } from '#app/close.ts';
import { DEPLOYMENT_ID, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const finished = { type: 'DeploymentFinished', actor: 'deployctl', detail: {} };

describe('closeDeployment', () => {
  it('ends the record, records the release, releases the lock and announces the end', async () => {
    const { ports } = await runningDeployment({}, { hostCount: 4, failed: 1 });
    await ports.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, ports.clock.now(), 60);

    const record = await closeDeployment(
      ports,
      DEPLOYMENT_ID,
      { status: 'FAILED', reason: 'wave 1 failed', event: finished },
      ports.clock.now(),
    );

    expect(record).toMatchObject({ status: 'FAILED', reason: 'wave 1 failed' });
    expect((await ports.releases.listReleases('web', 'prod', 10)).items).toMatchObject([{ deploymentId: DEPLOYMENT_ID, status: 'FAILED' }]);
    expect(await ports.locks.getLockHolder('web', 'prod')).toBeUndefined();
    expect(ports.audit.events.get(DEPLOYMENT_ID)?.at(-1)).toMatchObject({ type: 'DeploymentFinished', lockReleased: true });
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: {
          deploymentId: DEPLOYMENT_ID,
          app: 'web',
          environment: 'prod',
          version: '1.2.3',
          status: 'FAILED',
          reason: 'wave 1 failed',
          hosts: 4,
          failed: 1,
        },
      },
    ]);
  });

  it('announces the end once when the close is retried, and keeps the first outcome', async () => {
    const { ports } = await runningDeployment();

    await closeDeployment(ports, DEPLOYMENT_ID, { status: 'SUCCEEDED', reason: undefined, event: finished }, ports.clock.now());
    const again = await closeDeployment(ports, DEPLOYMENT_ID, { status: 'FAILED', reason: 'late', event: finished }, ports.clock.now());

    expect(again.status).toBe('SUCCEEDED');
    expect(ports.events.statuses()).toEqual(['SUCCEEDED']);
    expect(ports.audit.types(DEPLOYMENT_ID).filter((t) => t === 'DeploymentFinished')).toHaveLength(1);
  });

  it('tells the control region how a regional deployment ended, on every close', async () => {
    const parent = { deploymentId: 'global-1', region: 'eu-west-1', phase: 'deploy' } as const;
    const { ports } = await runningDeployment({ parent });

    await closeDeployment(ports, DEPLOYMENT_ID, { status: 'SUCCEEDED', reason: undefined, event: finished }, ports.clock.now());
    await closeDeployment(ports, DEPLOYMENT_ID, { status: 'SUCCEEDED', reason: undefined, event: finished }, ports.clock.now());

    expect(ports.events.log.map((e) => e.detailType)).toEqual([
      'Deployment Status Change',
      'Regional Deployment Completed',
      'Regional Deployment Completed',
    ]);
  });
});

describe('finalizeDeployment', () => {
  it('ends the deployment as its states left it, with the caught error as the reason', async () => {
    const { ports } = await runningDeployment();
    const state = stateOf({ hostCount: 3, failed: 2, error: { Error: 'AlarmFiring', Cause: 'HighErrors in ALARM' } });

    const result = await finalizeDeployment(ports, state);

    expect(result).toMatchObject({ status: 'FAILED', reason: 'AlarmFiring: HighErrors in ALARM' });
    expect(ports.events.log[0]?.detail).toMatchObject({ status: 'FAILED', hosts: 3, failed: 2 });
    expect(ports.audit.events.get(DEPLOYMENT_ID)?.at(-1)).toMatchObject({
      type: 'DeploymentFinished',
      status: 'FAILED',
      reason: 'AlarmFiring: HighErrors in ALARM',
    });
  });

  it('ends SUCCEEDED without a reason when nothing failed', async () => {
    const { ports } = await runningDeployment();

    const result = await finalizeDeployment(ports, stateOf());

    expect(result.status).toBe('SUCCEEDED');
    expect(result).not.toHaveProperty('reason');
  });
});

describe('reportToParent', () => {
  it('puts nothing for a deployment the control region did not start', async () => {
    const { ports } = await runningDeployment();

    await reportToParent(ports, await ports.deployments.getDeployment(DEPLOYMENT_ID));

    expect(ports.events.log).toEqual([]);
  });
});
