import { describe, expect, it } from 'vitest';
import { startFanOut } from '#app/fan-out/start.ts';
import { DeploymentExists, InvalidSpec } from '#core/errors.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';
import { multiRegionSpec, PARENT } from '#test/unit/app/fan-out/fixtures.ts';

describe('startFanOut', () => {
  it('records the parent RUNNING with every region PENDING in its wave and hands the first wave on', async () => {
    const ports = memoryPorts();

    const state = await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });

    expect(state).toEqual({
      deploymentId: PARENT,
      app: 'web',
      environment: 'prod',
      regionWave: 0,
      regionWaveCount: 2,
      waveRegions: ['us-east-1'],
      regionBakeSeconds: 0,
      regionTimeoutSeconds: 90_000,
      onRegionFailure: 'stop',
    });
    const record = await ports.deployments.getDeployment(PARENT);
    expect(record).toMatchObject({
      status: 'RUNNING',
      executionName: PARENT,
      currentRegionWave: 0,
      regionWaves: multiRegionSpec.regionWaves,
    });
    expect(record.regions).toEqual({
      'us-east-1': { wave: 0, deploymentId: `${PARENT}-us-east-1`, status: 'PENDING' },
      'eu-west-1': { wave: 1, deploymentId: `${PARENT}-eu-west-1`, status: 'PENDING' },
      'ap-southeast-2': { wave: 1, deploymentId: `${PARENT}-ap-southeast-2`, status: 'PENDING' },
    });
    // The parent takes no app+env lock: each region's deployment takes its own.
    expect(await ports.locks.getLockHolder('web', 'prod')).toBeUndefined();
  });

  it('writes the request to the audit trail and announces STARTED through the journal', async () => {
    const ports = memoryPorts();

    await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });

    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({ type: 'DeploymentRequested', actor: 'alice', version: '1.2.3', regionWaves: multiRegionSpec.regionWaves }),
    ]);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: { deploymentId: PARENT, app: 'web', environment: 'prod', version: '1.2.3', status: 'STARTED' },
      },
    ]);
  });

  it('takes the execution name as the deployment id when the spec gives none, and the region policy from the spec', async () => {
    const ports = memoryPorts();
    const { deploymentId: _id, regionWaves: _waves, ...spec } = multiRegionSpec;

    const state = await startFanOut(ports, {
      spec: {
        ...spec,
        regions: ['us-east-1', 'eu-west-1'],
        regionPolicy: { onFailure: 'rollbackAll', bakeSeconds: 300, timeoutSeconds: 3600 },
      },
      executionName: 'exec-7',
    });

    expect(state).toMatchObject({
      deploymentId: 'exec-7',
      regionWaveCount: 2,
      waveRegions: ['us-east-1'],
      regionBakeSeconds: 300,
      regionTimeoutSeconds: 3600,
      onRegionFailure: 'rollbackAll',
    });
    expect((await ports.deployments.getDeployment('exec-7')).regionWaves).toEqual([['us-east-1'], ['eu-west-1']]);
  });

  it('refuses an invalid spec with InvalidSpec and records nothing', async () => {
    const ports = memoryPorts();

    await expect(startFanOut(ports, { spec: { ...multiRegionSpec, version: '' }, executionName: PARENT })).rejects.toBeInstanceOf(
      InvalidSpec,
    );

    expect(ports.deployments.records.size).toBe(0);
    expect(ports.events.log).toEqual([]);
  });

  it('refuses a spec without regions with InvalidSpec: the fan-out machine runs only multi-region deployments', async () => {
    const ports = memoryPorts();
    const { regionWaves: _waves, ...spec } = multiRegionSpec;

    await expect(startFanOut(ports, { spec, executionName: PARENT })).rejects.toThrow(/needs regions or regionWaves/);
    expect(ports.deployments.records.size).toBe(0);
  });

  it('goes on from the record when the same execution retries after the setup, writing nothing twice', async () => {
    const ports = memoryPorts();
    const first = await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });
    await ports.regions.updateRegion(PARENT, 'us-east-1', 'deploy', { status: 'REQUESTED' }, ports.clock.now());

    const retried = await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });

    expect(retried).toEqual(first);
    expect(ports.audit.types(PARENT)).toEqual(['DeploymentRequested']);
    expect(ports.events.statuses()).toEqual(['STARTED']);
    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']?.status).toBe('REQUESTED');
  });

  it('finishes the setup when the same execution retries after recording only the PENDING parent', async () => {
    const ports = memoryPorts();
    await ports.deployments.createDeployment(PARENT, {} as never, PARENT, ports.clock.now());

    await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });

    expect((await ports.deployments.getDeployment(PARENT)).status).toBe('RUNNING');
    expect(ports.events.statuses()).toEqual(['STARTED']);
  });

  it('refuses with DeploymentExists an id that another execution recorded', async () => {
    const ports = memoryPorts();
    await startFanOut(ports, { spec: multiRegionSpec, executionName: 'exec-other' });

    await expect(startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT })).rejects.toBeInstanceOf(DeploymentExists);
    expect(ports.events.statuses()).toEqual(['STARTED']);
  });

  it('refuses with DeploymentExists a retry of an execution whose deployment has ended', async () => {
    const ports = memoryPorts();
    await startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT });
    await ports.deployments.finishDeployment(PARENT, 'FAILED', 'region us-east-1 FAILED', ports.clock.now());

    await expect(startFanOut(ports, { spec: multiRegionSpec, executionName: PARENT })).rejects.toThrow(/already exists \(FAILED/);
  });
});
