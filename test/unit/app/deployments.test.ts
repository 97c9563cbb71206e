import { describe, expect, it } from 'vitest';
import { createDeploymentService, startChecks } from '#app/deployments.ts';
import { ControlRefused, IdTaken, Locked, RecordNotFound, RollbackRefused, SpecRejected, UnknownStrategy } from '#core/errors.ts';
import { parseSpec } from '#core/spec.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

const spec = { app: 'web', environment: 'prod', version: '1.2.3', targets: { tags: { Role: 'web' } }, requestedBy: 'alice' };

/** A deployment recorded as the strategy machine would (created, then its status), for the start checks and rollbacks. */
async function recorded(ports: ReturnType<typeof memoryPorts>, id: string, status: 'RUNNING' | 'SUCCEEDED', extra = {}) {
  const now = ports.clock.now();
  await ports.deployments.createDeployment(id, parseSpec({ ...spec, deploymentId: id, ...extra }), id, now);
  if (status === 'RUNNING') await ports.deployments.updateDeployment(id, { status }, now);
  else await ports.deployments.finishDeployment(id, status, undefined, now);
}

describe('createDeploymentService().start', () => {
  it("starts the strategy's machine with the deployment id as the execution name", async () => {
    const ports = memoryPorts();

    const result = await createDeploymentService(ports).start({ ...spec, deploymentId: 'dep-1' });

    expect(result).toEqual({ deploymentId: 'dep-1', strategy: 'rolling', started: true, executionArn: expect.stringContaining(':dep-1') });
    expect(ports.executions.started).toEqual([{ strategy: 'rolling', name: 'dep-1', input: { ...spec, deploymentId: 'dep-1' } }]);
  });

  it('takes the idempotency key as the id when the spec gives none, and a new id when neither does', async () => {
    const ports = memoryPorts();
    const service = createDeploymentService(ports);

    await expect(service.start(spec, { idempotencyKey: 'key-1' })).resolves.toMatchObject({ deploymentId: 'key-1' });
    const fresh = await service.start(spec);

    expect(fresh.deploymentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ports.executions.started.map((s) => s.name)).toEqual(['key-1', fresh.deploymentId]);
  });

  it('records the authenticated caller as requestedBy, whatever the body says', async () => {
    const ports = memoryPorts();

    await createDeploymentService(ports).start({ ...spec, deploymentId: 'dep-1' }, { requestedBy: 'arn:aws:iam::123456789012:user/bob' });

    expect(ports.executions.started[0]?.input).toMatchObject({ requestedBy: 'arn:aws:iam::123456789012:user/bob' });
  });

  it('refuses a body that is not a JSON object, and an invalid spec field by field, starting nothing', async () => {
    const ports = memoryPorts();
    const service = createDeploymentService(ports);

    await expect(service.start([spec])).rejects.toMatchObject({
      fieldErrors: [{ field: '(spec)', message: 'the spec must be a JSON object' }],
    });
    const rejected = await service.start({ ...spec, version: '' }).catch((error: unknown) => error);

    expect(rejected).toBeInstanceOf(SpecRejected);
    expect((rejected as SpecRejected).fieldErrors).toEqual([expect.objectContaining({ field: 'version' })]);
    expect(ports.executions.started).toEqual([]);
  });

  it('answers a repeat of a deployment already started with its status, starting nothing new', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING');

    const result = await createDeploymentService(ports).start({ ...spec, deploymentId: 'dep-1', requestedBy: 'someone else' });

    expect(result).toEqual({ deploymentId: 'dep-1', strategy: 'rolling', started: false, status: 'RUNNING' });
    expect(ports.executions.started).toEqual([]);
  });

  it('refuses with IdTaken an id that another deployment has', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING');

    await expect(createDeploymentService(ports).start({ ...spec, deploymentId: 'dep-1', version: '2.0.0' })).rejects.toBeInstanceOf(
      IdTaken,
    );
    expect(ports.executions.started).toEqual([]);
  });

  it('refuses with Locked a deployment of an app+env that another live deployment holds', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING');
    await ports.locks.acquireLock('web', 'prod', 'dep-1', ports.clock.now(), 3600);

    const refused = await createDeploymentService(ports)
      .start({ ...spec, deploymentId: 'dep-2' })
      .catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(Locked);
    expect((refused as Locked).holder).toBe('dep-1');
    expect(ports.executions.started).toEqual([]);
  });

  it("starts a spec with regions on the control region's fan-out machine", async () => {
    const ports = memoryPorts();

    const result = await createDeploymentService(ports).start({ ...spec, deploymentId: 'dep-1', regions: ['us-east-1', 'eu-west-1'] });

    expect(result).toMatchObject({ started: true, strategy: 'rolling' });
    expect(ports.executions.started[0]).toMatchObject({ strategy: 'fanOut', name: 'dep-1' });
  });

  it('refuses a spec with regions on a stack that is not the control region, as bad input', async () => {
    const ports = memoryPorts();
    ports.executions.start = async (strategy) => {
      throw new UnknownStrategy(`no machine for ${strategy}`);
    };

    const refused = await createDeploymentService(ports)
      .start({ ...spec, regionWaves: [['us-east-1']] })
      .catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(SpecRejected);
    expect((refused as SpecRejected).fieldErrors).toEqual([
      { field: 'regionWaves', message: 'this stack is not the control region: start a multi-region deployment there' },
    ]);
  });

  it('lets an unknown strategy of a single-region spec through as it is', async () => {
    const ports = memoryPorts();
    ports.executions.start = async (strategy) => {
      throw new UnknownStrategy(`no machine for ${strategy}`);
    };

    await expect(createDeploymentService(ports).start(spec)).rejects.toBeInstanceOf(UnknownStrategy);
  });
});

describe('createDeploymentService().rollback', () => {
  it('starts the previous version as a rollback of the deployment, once per deployment', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'SUCCEEDED', { previousVersion: '1.2.2' });
    const service = createDeploymentService(ports);

    const result = await service.rollback('dep-1', 'bob');
    const again = await service.rollback('dep-1', 'bob');

    expect(result).toMatchObject({ deploymentId: 'dep-1-rollback', started: true });
    expect(ports.executions.started).toEqual([
      {
        strategy: 'rolling',
        name: 'dep-1-rollback',
        input: expect.objectContaining({ version: '1.2.2', rollbackOf: 'dep-1', requestedBy: 'bob' }),
      },
    ]);
    // The first call only started the execution: nothing was recorded, so the repeat is answered by StartExecution's own idempotency.
    expect(again.deploymentId).toBe('dep-1-rollback');
  });

  it('starts an emergency rollback under its own key, all at once', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'SUCCEEDED', { previousVersion: '1.2.2' });

    const result = await createDeploymentService(ports).rollback('dep-1', 'bob', { emergency: true });

    expect(result.deploymentId).toBe('dep-1-emergency-rollback');
    expect(ports.executions.started[0]).toMatchObject({ strategy: 'allAtOnce', input: { priority: 'emergency' } });
  });

  it('takes the caller’s idempotency key over the default one', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'SUCCEEDED', { previousVersion: '1.2.2' });

    await expect(createDeploymentService(ports).rollback('dep-1', 'bob', { idempotencyKey: 'rb-7' })).resolves.toMatchObject({
      deploymentId: 'rb-7',
    });
  });

  it('refuses the rollback of a deployment still running, or of one with no previous version', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING', { previousVersion: '1.2.2' });
    await recorded(ports, 'dep-2', 'SUCCEEDED');
    const service = createDeploymentService(ports);

    await expect(service.rollback('dep-1', 'bob')).rejects.toBeInstanceOf(RollbackRefused);
    await expect(service.rollback('dep-2', 'bob')).rejects.toBeInstanceOf(RollbackRefused);
    await expect(service.rollback('dep-3', 'bob')).rejects.toBeInstanceOf(RecordNotFound);
    expect(ports.executions.started).toEqual([]);
  });
});

describe('createDeploymentService().control', () => {
  it('refuses to steer a deployment that has ended', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'SUCCEEDED');

    await expect(createDeploymentService(ports).control({ deploymentId: 'dep-1', action: 'pause', by: 'bob' })).rejects.toBeInstanceOf(
      ControlRefused,
    );
  });

  it('records an abort of a running deployment for the execution to act on', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING');

    await createDeploymentService(ports).control({ deploymentId: 'dep-1', action: 'abort', by: 'bob' });

    expect((await ports.deployments.getDeployment('dep-1')).control).toMatchObject({ action: 'ABORT', by: 'bob' });
  });
});

describe('startChecks', () => {
  it('returns the deployment that has the id, without looking at the lock', async () => {
    const ports = memoryPorts();
    await recorded(ports, 'dep-1', 'RUNNING');
    await ports.locks.acquireLock('web', 'prod', 'dep-0', ports.clock.now(), 3600);

    await expect(startChecks(ports, spec, 'dep-1', ports.clock.now())).resolves.toMatchObject({ deploymentId: 'dep-1' });
  });

  it('passes a new id when the lock is free, expired, or held by this very id', async () => {
    const ports = memoryPorts();
    const now = ports.clock.now();

    await expect(startChecks(ports, spec, 'dep-1', now)).resolves.toBeUndefined();
    await ports.locks.acquireLock('web', 'prod', 'dep-1', now, 60);
    await expect(startChecks(ports, spec, 'dep-1', now)).resolves.toBeUndefined();
    await ports.locks.acquireLock('web', 'prod', 'dep-0', new Date(now.getTime() + 120_000), 60);
    await expect(startChecks(ports, spec, 'dep-2', new Date(now.getTime() + 300_000))).resolves.toBeUndefined();
  });
});
