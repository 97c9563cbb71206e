import { describe, expect, it } from 'vitest';
import { TERMINAL_STATUSES } from '#core/records.ts';
import { rollingSpec, startFlow } from '#test/flows/harness.ts';

/** Hosts of the 12-host fleet, by 0-based index, in the waves a 25% plan gives (3 per wave). */
const wave = (n: number, hosts: string[]) => hosts.slice((n - 1) * 3, n * 3);

describe('a rolling deployment on the local fleet', () => {
  it('deploys 12 hosts in four waves of 25% and ends SUCCEEDED with the lock released', async () => {
    const spec = rollingSpec('flow-success');
    const flow = await startFlow(spec, 12);

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    const record = await flow.orchestrator.record(run.executionName);
    expect(record).toMatchObject({ status: 'SUCCEEDED', waveCount: 4, hostCount: 12, succeeded: 12, failed: 0 });
    expect(record.endedAt).toBeDefined();
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));
    expect(Object.values(await flow.commandCounts())).toEqual(Array(12).fill(1));
    expect(await flow.lockHolder(spec)).toBeUndefined();

    const hostResults = await flow.orchestrator.records.waves.getHostResults(run.executionName);
    expect(hostResults).toHaveLength(12);
    expect(new Set(hostResults.map((h) => h.status))).toEqual(new Set(['Success']));
    expect(hostResults.map((h) => h.wave).sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);

    const waveStarts = (await flow.orchestrator.records.audit.getEvents(run.executionName)).filter((e) => e.type === 'WaveStarted');
    expect(waveStarts.map((e) => e.hosts)).toEqual([3, 3, 3, 3]);
    expect(flow.orchestrator.events.received.map((e) => e.detail.status)).toEqual([
      'STARTED',
      ...Array(4).fill(['WAVE_STARTED', 'WAVE_COMPLETED']).flat(),
      'SUCCEEDED',
    ]);
  });

  it('stops at the wave where failures exceed maxErrors and rolls back only the hosts already changed', async () => {
    const spec = rollingSpec('flow-failures', { strategy: { type: 'rolling', batchSize: '25%', maxErrors: 1 } });
    // Hosts 5 and 6 (wave 2) fail their install: two failures against a budget of one.
    const flow = await startFlow(spec, 12, { failingHosts: [4, 5] });

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain('2 of 12 hosts failed, more than maxErrors allows (1)');
    expect(record.rolledBack).toBe(6);

    const versions = await flow.versions();
    for (const host of [...wave(1, flow.hosts), ...wave(2, flow.hosts)]) expect(versions[host]).toBe('1.0.0');
    for (const host of [...wave(3, flow.hosts), ...wave(4, flow.hosts)]) expect(versions[host]).toBeUndefined();
    const counts = await flow.commandCounts();
    for (const host of [...wave(3, flow.hosts), ...wave(4, flow.hosts)]) expect(counts[host]).toBe(0);
    for (const host of [...wave(1, flow.hosts), ...wave(2, flow.hosts)]) expect(counts[host]).toBe(2);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('rolls back when an alarm fires during the bake after a wave', async () => {
    const spec = rollingSpec('flow-alarm', { gates: { alarms: { names: ['flow-alarm-health'] }, bakeSeconds: 60 } });
    const flow = await startFlow(spec, 12, { alarmInWave: 2 });

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toMatch(/^AlarmFiring: after wave 2: flow-alarm-health in ALARM/);
    const versions = await flow.versions();
    expect(Object.values(versions).filter((v) => v === '1.0.0')).toHaveLength(6);
    expect(Object.values(versions).filter((v) => v === '2.0.0')).toHaveLength(0);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('fails at pre-check with the offline host named, and sends no command', async () => {
    const spec = rollingSpec('flow-offline');
    const flow = await startFlow(spec, 12, { offlineHosts: [6] });

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('FAILED');
    expect(record.reason).toContain(`hosts online: 1 of 12 hosts not online in SSM: ${flow.hosts[6]}`);
    expect(record.checks?.find((c) => c.name === 'hosts online')?.passed).toBe(false);
    expect(Object.values(await flow.commandCounts()).every((n) => n === 0)).toBe(true);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('refuses a second deployment of the same app and environment while the first runs', async () => {
    const spec = rollingSpec('flow-lock', { gates: { alarms: {}, bakeSeconds: 30 } });
    // Each bake lasts 300 ms locally: long enough for the second request to arrive mid-flight.
    const flow = await startFlow(spec, 12, {}, { bakeMs: 300 });

    const first = flow.run({ ...spec, deploymentId: 'first' });
    // The second starts once the first holds the lock and has begun its waves.
    await expect
      .poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('first', 0)).length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    expect(await flow.lockHolder(spec)).toBe('first');
    const second = await flow.run({ ...spec, deploymentId: 'second', version: '3.0.0' });

    expect(second).toMatchObject({ status: 'FAILED', error: 'LockHeld' });
    const refused = await flow.orchestrator.record('second');
    expect(refused).toMatchObject({ status: 'FAILED', reason: 'flow-lock/test is locked by deployment first' });
    expect(await flow.lockHolder(spec)).toBe('first');

    expect((await first).status).toBe('SUCCEEDED');
    expect(await flow.lockHolder(spec)).toBeUndefined();
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));
    for (const id of ['first', 'second']) expect(TERMINAL_STATUSES).toContain((await flow.orchestrator.record(id)).status);
  });

  it('settles a wave by reading the invocations when the status event never arrives', async () => {
    const spec = rollingSpec('flow-lost-event', { strategy: { type: 'rolling', batchSize: '50%', maxErrors: 0 } });
    const flow = await startFlow(spec, 4, { failingHosts: [3] }, { dropCommandEvents: true, callbackTimeoutMs: 300 });

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    // Wave 1 succeeded without any callback; wave 2's failure was still seen, through ListCommandInvocations.
    expect(record).toMatchObject({ status: 'ROLLED_BACK', succeeded: 3, failed: 1 });
    const failed = (await flow.orchestrator.records.waves.getHostResults(run.executionName)).filter(
      (h) => h.phase === 'deploy' && h.status !== 'Success',
    );
    expect(failed.map((h) => [h.instanceId, h.status])).toEqual([[flow.hosts[3], 'Failed']]);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('refuses an invalid spec at the first state, writing no record and taking no lock', async () => {
    const spec = rollingSpec('flow-invalid');
    const flow = await startFlow(spec, 2);

    const run = await flow.run({ ...spec, version: '2.0.0; rm -rf /', strategy: { type: 'rolling', batchSize: '0%' } } as never);

    expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidSpec' });
    expect(run.cause).toContain('version');
    expect(run.cause).toContain('strategy.batchSize');
    await expect(flow.orchestrator.record(run.executionName)).rejects.toThrow(/has no record/);
    expect(await flow.lockHolder(spec)).toBeUndefined();
    expect(Object.values(await flow.commandCounts())).toEqual([0, 0]);
  });
});
