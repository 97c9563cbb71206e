import { describe, expect, it } from 'vitest';
import { startDeployment } from '#app/start.ts';
import { DeploymentExists, LockHeld } from '#core/errors.ts';
import { LOCK_TTL_SECONDS } from '#core/limits.ts';
import { minimalSpecInput } from '#test/support/fixtures.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

describe('startDeployment', () => {
  it('records the deployment, takes the lock and announces STARTED once', async () => {
    const ports = memoryPorts();

    const state = await startDeployment(ports, { spec: { ...minimalSpecInput, requestedBy: 'alice' }, executionName: 'exec-1' });

    expect(state).toMatchObject({ deploymentId: 'exec-1', app: 'web', environment: 'prod', wave: 0, waveCount: 0, waitSeconds: 720 });
    const record = await ports.deployments.getDeployment('exec-1');
    expect(record).toMatchObject({ status: 'RUNNING', executionName: 'exec-1' });
    expect(await ports.locks.getLockHolder('web', 'prod')).toBe('exec-1');
    expect(ports.audit.types('exec-1')).toEqual(['DeploymentRequested', 'LockAcquired']);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: { deploymentId: 'exec-1', app: 'web', environment: 'prod', version: '1.2.3', status: 'STARTED' },
      },
    ]);
  });

  it('writes nothing twice when the same execution retries the start', async () => {
    const ports = memoryPorts();
    const request = { spec: minimalSpecInput, executionName: 'exec-1' };

    await startDeployment(ports, request);
    await startDeployment(ports, request);

    expect(ports.audit.types('exec-1')).toEqual(['DeploymentRequested', 'LockAcquired']);
    expect(ports.events.statuses()).toEqual(['STARTED']);
  });

  it('takes the previous version from the last successful release when the spec gives none', async () => {
    const ports = memoryPorts();
    await startDeployment(ports, { spec: { ...minimalSpecInput, version: '1.0.0' }, executionName: 'old' });
    const old = await ports.deployments.finishDeployment('old', 'SUCCEEDED', undefined, ports.clock.now());
    await ports.releases.putRelease(old, 'SUCCEEDED', ports.clock.now());
    await ports.locks.releaseLock('web', 'prod', 'old');

    await startDeployment(ports, { spec: minimalSpecInput, executionName: 'new' });

    expect((await ports.deployments.getDeployment('new')).spec.previousVersion).toBe('1.0.0');
  });

  it('refuses another execution that reuses the deployment id, leaving the record as it is', async () => {
    const ports = memoryPorts();
    await startDeployment(ports, { spec: { ...minimalSpecInput, deploymentId: 'dep-9' }, executionName: 'exec-1' });

    const error = await startDeployment(ports, { spec: { ...minimalSpecInput, deploymentId: 'dep-9' }, executionName: 'exec-2' }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(DeploymentExists);
    expect((await ports.deployments.getDeployment('dep-9')).executionName).toBe('exec-1');
  });

  it('records a refused lock as FAILED with the holder and rethrows LockHeld', async () => {
    const ports = memoryPorts();
    await startDeployment(ports, { spec: minimalSpecInput, executionName: 'first' });

    const error = await startDeployment(ports, { spec: minimalSpecInput, executionName: 'second' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LockHeld);
    expect(await ports.deployments.getDeployment('second')).toMatchObject({ status: 'FAILED' });
    expect(ports.audit.types('second')).toEqual(['DeploymentRequested', 'LockRefused']);
    expect(ports.audit.events.get('second')?.[1]).toMatchObject({ holder: 'first' });
    expect(ports.events.statuses()).toEqual(['STARTED']);
  });

  it('tells the control region at once when a regional deployment is refused the lock', async () => {
    const ports = memoryPorts();
    await startDeployment(ports, { spec: minimalSpecInput, executionName: 'first' });
    const parent = { deploymentId: 'global-1', region: 'eu-west-1', phase: 'deploy' } as const;

    await startDeployment(ports, { spec: { ...minimalSpecInput, parent }, executionName: 'regional' }).catch(() => undefined);

    expect(ports.events.log.map((e) => e.detailType)).toEqual(['Deployment Status Change', 'Regional Deployment Completed']);
  });

  it('gives the lock back when the start fails after taking it', async () => {
    const ports = memoryPorts();
    ports.deployments.updateDeployment = async () => {
      throw new Error('throttled');
    };

    await expect(startDeployment(ports, { spec: minimalSpecInput, executionName: 'exec-1' })).rejects.toThrow('throttled');

    expect(await ports.locks.getLockHolder('web', 'prod')).toBeUndefined();
  });

  it('takes the lock for the lifetime of an execution', async () => {
    const ports = memoryPorts();
    await startDeployment(ports, { spec: minimalSpecInput, executionName: 'exec-1' });

    ports.clock.advance(LOCK_TTL_SECONDS - 1);
    await expect(ports.locks.getLiveLockHolder('web', 'prod', ports.clock.now())).resolves.toBe('exec-1');
  });
});
