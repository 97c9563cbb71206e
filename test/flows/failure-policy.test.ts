import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rollingSpec, startFlow } from '#test/flows/harness.ts';

/** 12 local hosts in four waves of 3 (25%); host 5 is the last of wave 2. */
const FAILING = 5;
const WAVE_1_2 = [0, 1, 2, 3, 4, 5];

describe("a deployment's failure policy (onFailure) on the local fleet", () => {
  it('abort: stops at the failed wave with the hosts as they are, rolls nothing back and ends FAILED', async () => {
    const spec = rollingSpec('policy-abort', { deploymentId: 'policy-abort', onFailure: 'abort' });
    const flow = await startFlow(spec, 12, { failingHosts: [FAILING] });

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    const record = await flow.orchestrator.record('policy-abort');
    expect(record).toMatchObject({ status: 'FAILED', failed: 1 });
    expect(record.reason).toMatch(/^wave 2: 1 of 12 hosts failed/);
    const versions = Object.values(await flow.versions());
    expect(WAVE_1_2.filter((n) => n !== FAILING).map((n) => versions[n])).toEqual(Array(5).fill('2.0.0'));
    expect(versions.slice(6)).toEqual(Array(6).fill(undefined));
    const types = (await flow.orchestrator.records.audit.getEvents('policy-abort')).map((e) => e.type);
    expect(types).not.toContain('RollbackStarted');
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('pause: holds PAUSED after the failed wave with the reason, and an abort then rolls the changed hosts back', async () => {
    const spec = rollingSpec('policy-pause-abort', { deploymentId: 'policy-pause-abort', onFailure: 'pause' });
    const flow = await startFlow(spec, 12, { failingHosts: [FAILING] });

    const running = flow.run(spec);
    await flow.waitForGate('policy-pause-abort', 'resume');

    const paused = await flow.orchestrator.record('policy-pause-abort');
    expect(paused.status).toBe('RUNNING');
    expect(paused.control).toMatchObject({ action: 'PAUSE', by: 'deployctl (onFailure: pause)' });
    expect(paused.control?.comment).toMatch(/^wave 2: 1 of 12 hosts failed/);
    // The gate is stored first, then announced.
    await expect.poll(() => flow.orchestrator.events.received.map((e) => e.detail.status)).toContain('PAUSED');
    await flow.orchestrator.control({ deploymentId: 'policy-pause-abort', action: 'abort', by: 'oscar' });
    const run = await running;

    expect(run.status).toBe('FAILED');
    expect(await flow.orchestrator.record('policy-pause-abort')).toMatchObject({ status: 'ABORTED' });
    const versions = Object.values(await flow.versions());
    expect(WAVE_1_2.map((n) => versions[n])).toEqual(Array(6).fill('1.0.0'));
    expect(versions.slice(6)).toEqual(Array(6).fill(undefined));
    const types = (await flow.orchestrator.records.audit.getEvents('policy-pause-abort')).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['PausedOnFailure', 'AbortRequested', 'RollbackFinished']));
  });

  it('pause: a resume goes on with the next wave; with the budget spent, each later wave pauses again', async () => {
    const spec = rollingSpec('policy-pause-resume', { deploymentId: 'policy-pause-resume', onFailure: 'pause' });
    const flow = await startFlow(spec, 12, { failingHosts: [FAILING] });

    const running = flow.run(spec);
    // Waves 2, 3 and 4 each end over the budget of 0 failed hosts: three holds, three resumes.
    for (let hold = 0; hold < 3; hold++) {
      await flow.waitForGate('policy-pause-resume', 'resume');
      await flow.orchestrator.control({ deploymentId: 'policy-pause-resume', action: 'resume', by: 'rita' });
    }
    const run = await running;

    expect(run.status).toBe('SUCCEEDED');
    expect(await flow.orchestrator.record('policy-pause-resume')).toMatchObject({ status: 'SUCCEEDED', succeeded: 11, failed: 1 });
    const versions = Object.values(await flow.versions());
    expect(versions.filter((v) => v === '2.0.0')).toHaveLength(11);
    const events = await flow.orchestrator.records.audit.getEvents('policy-pause-resume');
    expect(events.filter((e) => e.type === 'PausedOnFailure').map((e) => e.wave)).toEqual([2, 3, 4]);
    expect(events.filter((e) => e.type === 'Resumed').map((e) => e.actor)).toEqual(['rita', 'rita', 'rita']);
  });
});

describe('an emergency rollback on the local fleet', () => {
  it('takes every host back at once while the alarms fire, with no approval, bake or alarm gate', async () => {
    const spec = rollingSpec('emergency', {
      deploymentId: 'emergency-release',
      gates: { alarms: { names: ['emergency-health'] }, bakeSeconds: 600, approval: 'none' },
    });
    const flow = await startFlow(spec, 12);
    expect((await flow.run(spec)).status).toBe('SUCCEEDED');
    // The release is bad: a host reports unhealthy and the alarm fires.
    await writeFile(path.join(flow.fleetDir, flow.hosts[7] as string, 'health'), 'unhealthy\n');

    const normal = await flow.orchestrator.rollback('emergency-release', 'sam', { executionName: 'normal-undo' });
    expect(await flow.orchestrator.record('normal-undo')).toMatchObject({ status: 'FAILED' });
    expect(normal.status).toBe('FAILED');
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));

    const run = await flow.orchestrator.rollback('emergency-release', 'sam', { executionName: 'emergency-undo', emergency: true });

    expect(run.status).toBe('SUCCEEDED');
    const record = await flow.orchestrator.record('emergency-undo');
    expect(record).toMatchObject({ status: 'SUCCEEDED', waveCount: 1, hostCount: 12 });
    expect(record.spec).toMatchObject({
      version: '1.0.0',
      rollbackOf: 'emergency-release',
      priority: 'emergency',
      onFailure: 'abort',
      strategy: { type: 'allAtOnce' },
      gates: { alarms: {}, bakeSeconds: 0, approval: 'none' },
    });
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('1.0.0'));
    const types = (await flow.orchestrator.records.audit.getEvents('emergency-undo')).map((e) => e.type);
    expect(types).not.toContain('AlarmGate');
    expect(types).not.toContain('ApprovalRequested');
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });
});
