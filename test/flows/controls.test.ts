import { describe, expect, it } from 'vitest';
import { rollingSpec, startFlow } from '#test/flows/harness.ts';

/** Hosts of a 12-host fleet in waves of 25% (3 per wave), by 0-based index. */
const wave = (n: number, hosts: string[]) => hosts.slice((n - 1) * 3, n * 3);

describe('controls of a running deployment on the local fleet', () => {
  it('waits for an approval before every wave and records who approved each', async () => {
    const spec = rollingSpec('approve-every', {
      strategy: { type: 'canary', stages: [25, 100] },
      gates: { alarms: {}, approval: 'everyWave' },
      deploymentId: 'approve-every',
    });
    const flow = await startFlow(spec, 8);

    const running = flow.run(spec);
    await flow.waitForGate('approve-every', 'approval');
    expect(Object.values(await flow.commandCounts()).every((n) => n === 0)).toBe(true);
    await flow.orchestrator.control({ deploymentId: 'approve-every', action: 'approve', by: 'alice', comment: 'canary looks fine' });
    await flow.waitForGate('approve-every', 'approval');
    await flow.orchestrator.control({ deploymentId: 'approve-every', action: 'approve', by: 'bob' });
    const run = await running;

    expect(run.status).toBe('SUCCEEDED');
    const events = await flow.orchestrator.records.audit.getEvents('approve-every');
    expect(events.filter((e) => e.type === 'ApprovalRequested').map((e) => e.wave)).toEqual([0, 1]);
    expect(events.filter((e) => e.type === 'Approved').map((e) => [e.actor, e.wave])).toEqual([
      ['alice', 0],
      ['bob', 1],
    ]);
    expect(Object.values(await flow.versions())).toEqual(Array(8).fill('2.0.0'));
    expect((await flow.orchestrator.record('approve-every')).gate).toBeNull();
  });

  it('rolls back the changed hosts when an approver rejects a later wave', async () => {
    const spec = rollingSpec('reject-later', { gates: { alarms: {}, approval: 'everyWave' }, deploymentId: 'reject-later' });
    const flow = await startFlow(spec, 12);

    const running = flow.run(spec);
    await flow.waitForGate('reject-later', 'approval');
    await flow.orchestrator.control({ deploymentId: 'reject-later', action: 'approve', by: 'alice' });
    await flow.waitForGate('reject-later', 'approval');
    await flow.orchestrator.control({ deploymentId: 'reject-later', action: 'reject', by: 'carol', comment: 'error rate up' });
    const run = await running;

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    const record = await flow.orchestrator.record('reject-later');
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain('ApprovalRejected: wave 2 rejected by carol: error rate up');
    const versions = await flow.versions();
    for (const host of wave(1, flow.hosts)) expect(versions[host]).toBe('1.0.0');
    for (const host of flow.hosts.slice(3)) expect(versions[host]).toBeUndefined();
    const rejected = (await flow.orchestrator.records.audit.getEvents('reject-later')).find((e) => e.type === 'Rejected');
    expect(rejected).toMatchObject({ actor: 'carol', wave: 1, comment: 'error rate up' });
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('ends FAILED with nothing changed when the first wave is rejected', async () => {
    const spec = rollingSpec('reject-first', { gates: { alarms: {}, approval: 'firstWave' }, deploymentId: 'reject-first' });
    const flow = await startFlow(spec, 4);

    const running = flow.run(spec);
    await flow.waitForGate('reject-first', 'approval');
    await flow.orchestrator.control({ deploymentId: 'reject-first', action: 'reject', by: 'dave' });
    await running;

    const record = await flow.orchestrator.record('reject-first');
    expect(record).toMatchObject({ status: 'FAILED', rolledBack: 0 });
    expect(record.reason).toBe('ApprovalRejected: wave 1 rejected by dave; no host had been changed');
    expect(Object.values(await flow.commandCounts()).every((n) => n === 0)).toBe(true);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('aborts at the end of the running wave: its hosts roll back, later waves never start, status ABORTED', async () => {
    const spec = rollingSpec('abort-mid', { deploymentId: 'abort-mid' });
    // Host 1 of wave 1 holds its deploy until released, so the abort surely arrives while the wave runs.
    const flow = await startFlow(spec, 12, { heldHosts: [1] });

    const running = flow.run(spec);
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('abort-mid', 0)).length).toBeGreaterThan(0);
    const answer = await flow.orchestrator.control({ deploymentId: 'abort-mid', action: 'abort', by: 'erin', comment: 'wrong build' });
    await flow.release(1);
    const run = await running;

    expect(answer.message).toBe('abort requested; it takes effect after the current wave');
    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentAborted' });
    const record = await flow.orchestrator.record('abort-mid');
    expect(record.status).toBe('ABORTED');
    expect(record.reason).toBe('DeploymentAborted: aborted by erin: wrong build; rolled back 3 hosts to 1.0.0');
    const counts = await flow.commandCounts();
    for (const host of wave(1, flow.hosts)) expect(counts[host]).toBe(2);
    for (const host of flow.hosts.slice(3)) expect(counts[host]).toBe(0);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('holds between waves while paused and goes on when resumed', async () => {
    const spec = rollingSpec('pause-resume', { deploymentId: 'pause-resume' });
    const flow = await startFlow(spec, 12, { heldHosts: [0] });

    const running = flow.run(spec);
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('pause-resume', 0)).length).toBeGreaterThan(0);
    await flow.orchestrator.control({ deploymentId: 'pause-resume', action: 'pause', by: 'frank' });
    await flow.release(0);
    await flow.waitForGate('pause-resume', 'resume');

    // Paused after wave 1: nothing of wave 2 has started.
    expect(Object.values(await flow.commandCounts()).filter((n) => n > 0)).toHaveLength(3);
    await expect(flow.orchestrator.control({ deploymentId: 'pause-resume', action: 'pause', by: 'frank' })).rejects.toThrow(
      'deployment pause-resume is paused already',
    );
    await flow.orchestrator.control({ deploymentId: 'pause-resume', action: 'resume', by: 'grace' });
    const run = await running;

    expect(run.status).toBe('SUCCEEDED');
    const types = (await flow.orchestrator.records.audit.getEvents('pause-resume')).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['PauseRequested', 'Paused', 'Resumed']));
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));
  });

  it('finalizes the record as ABORTED and releases the lock when the execution is stopped from outside', async () => {
    const spec = rollingSpec('stop-execution', { deploymentId: 'stop-execution' });
    const flow = await startFlow(spec, 12, { heldHosts: [2] });

    const running = flow.run(spec, 'stop-execution');
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('stop-execution', 0)).length).toBeGreaterThan(0);
    expect(await flow.lockHolder(spec)).toBe('stop-execution');
    flow.orchestrator.stop('stop-execution');
    const run = await running;
    await flow.release(2);

    expect(run.status).toBe('ABORTED');
    const record = await flow.orchestrator.record('stop-execution');
    expect(record).toMatchObject({ status: 'ABORTED', reason: 'execution stopped (StopExecution)' });
    expect(record.endedAt).toBeDefined();
    expect(await flow.lockHolder(spec)).toBeUndefined();
    const ended = (await flow.orchestrator.records.audit.getEvents('stop-execution')).find((e) => e.type === 'ExecutionEnded');
    expect(ended).toMatchObject({ actor: 'stepfunctions', status: 'ABORTED' });
  });

  it('refuses a control for a deployment that has finished, naming its status', async () => {
    const spec = rollingSpec('control-finished', { deploymentId: 'control-finished' });
    const flow = await startFlow(spec, 2);
    await flow.run(spec);

    await expect(flow.orchestrator.control({ deploymentId: 'control-finished', action: 'abort', by: 'hank' })).rejects.toMatchObject({
      name: 'ControlRefused',
      message: 'deployment control-finished is SUCCEEDED; only a running deployment can be told to abort',
    });
  });
});

describe('manual rollback of a finished deployment on the local fleet', () => {
  it('redeploys the previous version with the same strategy, recorded as a rollback of the original', async () => {
    const spec = rollingSpec('manual-rollback', {
      strategy: { type: 'linear', stepPercent: 50, intervalSeconds: 0 },
      deploymentId: 'release-2',
    });
    const flow = await startFlow(spec, 6);
    expect((await flow.run(spec)).status).toBe('SUCCEEDED');
    expect(Object.values(await flow.versions())).toEqual(Array(6).fill('2.0.0'));

    const run = await flow.orchestrator.rollback('release-2', 'ivan', { executionName: 'undo-release-2' });

    expect(run.status).toBe('SUCCEEDED');
    const record = await flow.orchestrator.record('undo-release-2');
    expect(record.spec).toMatchObject({ version: '1.0.0', previousVersion: '2.0.0', rollbackOf: 'release-2', requestedBy: 'ivan' });
    expect(record.spec.strategy).toMatchObject({ type: 'linear', stepPercent: 50 });
    expect(record).toMatchObject({ status: 'SUCCEEDED', waveCount: 2 });
    expect(Object.values(await flow.versions())).toEqual(Array(6).fill('1.0.0'));
    const onOriginal = (await flow.orchestrator.records.audit.getEvents('release-2')).find((e) => e.type === 'RollbackRequested');
    expect(onOriginal).toMatchObject({ actor: 'ivan', rollbackDeploymentId: 'undo-release-2' });
  });

  it('refuses to roll back a deployment that is still running', async () => {
    const spec = rollingSpec('rollback-running', { deploymentId: 'still-running' });
    const flow = await startFlow(spec, 4, { heldHosts: [0] });
    const running = flow.run(spec);
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('still-running', 0)).length).toBeGreaterThan(0);

    await expect(flow.orchestrator.rollback('still-running', 'judy')).rejects.toMatchObject({
      name: 'RollbackRefused',
      message: 'deployment still-running is RUNNING; abort it instead of rolling it back',
    });
    await flow.release(0);
    expect((await running).status).toBe('SUCCEEDED');
  });
});
