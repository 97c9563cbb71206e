import { describe, expect, it } from 'vitest';
import { requestRegion } from '#app/fan-out/request-region.ts';
import { RegionalRollbackRefused } from '#core/errors.ts';
import { givenRegions, PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

const request = (region: string, phase: 'deploy' | 'rollback' = 'deploy') => ({ deploymentId: PARENT, region, phase, timeoutSeconds: 600 });

describe('requestRegion', () => {
  it("stores the wait's token in the region's entry, then requests the region's deployment on the bus", async () => {
    const { ports } = await startedFanOut();

    const result = await requestRegion(ports, request('eu-west-1'), 'token-eu');

    expect(result).toEqual({ requested: `${PARENT}-eu-west-1`, wave: 1 });
    const record = await ports.deployments.getDeployment(PARENT);
    expect(record.regions?.['eu-west-1']).toEqual({
      wave: 1,
      deploymentId: `${PARENT}-eu-west-1`,
      status: 'REQUESTED',
      token: 'token-eu',
      requestedAt: ports.clock.now().toISOString(),
      reason: null,
    });
    expect(record.currentRegionWave).toBe(1);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Regional Deployment Requested',
        detail: { parentId: PARENT, region: 'eu-west-1', phase: 'deploy', deploymentId: `${PARENT}-eu-west-1`, spec: expect.any(Object) },
      },
    ]);
    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({ type: 'RegionRequested', region: 'eu-west-1', regionalDeploymentId: `${PARENT}-eu-west-1`, wave: 1 }),
    ]);
  });

  it("puts the region's own spec: the parent's without its regions, under the region's id, linked to the parent", async () => {
    const { ports } = await startedFanOut();

    await requestRegion(ports, request('us-east-1'), 'token-us');

    const event = ports.events.log[0];
    const spec = event?.detailType === 'Regional Deployment Requested' ? event.detail.spec : {};
    expect(spec).toMatchObject({
      app: 'web',
      version: '1.2.3',
      deploymentId: `${PARENT}-us-east-1`,
      parent: { deploymentId: PARENT, region: 'us-east-1', phase: 'deploy' },
    });
    expect(spec).not.toHaveProperty('regionWaves');
    // The token never leaves the control region.
    expect(JSON.stringify(ports.events.log)).not.toContain('token-us');
  });

  it("requests a region's rollback to the version it resolved, under its own id and entry, leaving the region wave as it is", async () => {
    const { ports } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'SUCCEEDED', previousVersion: '1.2.2' } }, { currentRegionWave: 1 });

    const result = await requestRegion(ports, request('us-east-1', 'rollback'), 'token-rb');

    expect(result.requested).toBe(`${PARENT}-us-east-1-rb`);
    const record = await ports.deployments.getDeployment(PARENT);
    expect(record.regions?.['us-east-1']).toMatchObject({
      status: 'SUCCEEDED',
      rollback: { deploymentId: `${PARENT}-us-east-1-rb`, status: 'REQUESTED', token: 'token-rb' },
    });
    expect(record.currentRegionWave).toBe(1);
    const event = ports.events.log[0];
    expect(event?.detail).toMatchObject({
      phase: 'rollback',
      spec: { version: '1.2.2', parent: { deploymentId: PARENT, region: 'us-east-1', phase: 'rollback' } },
    });
    expect(ports.audit.types(PARENT)).toEqual(['RegionRollbackRequested']);
  });

  it('refuses with RegionalRollbackRefused the rollback of a region with no version to go back to, requesting nothing', async () => {
    const { ports } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'SUCCEEDED' } });

    await expect(requestRegion(ports, request('us-east-1', 'rollback'), 'token-rb')).rejects.toBeInstanceOf(RegionalRollbackRefused);

    expect(ports.events.log).toEqual([]);
    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']?.rollback).toBeUndefined();
  });

  it("refuses a region that is not one of the deployment's, requesting nothing", async () => {
    const { ports } = await startedFanOut();

    await expect(requestRegion(ports, request('sa-east-1'), 'token-sa')).rejects.toThrow(/not one of deployment dep-1's regions/);
    expect(ports.events.log).toEqual([]);
  });
});
