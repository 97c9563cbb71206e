import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blueGreenSpec, startFlow } from '#test/flows/harness.ts';

/** 8 local hosts: 0-3 blue (live), 4-7 green (idle). */
const BLUE = [0, 1, 2, 3];
const GREEN = [4, 5, 6, 7];

describe('a blue-green deployment on the local fleet', () => {
  it('deploys to green only, shifts traffic in steps and keeps blue untouched', async () => {
    const spec = blueGreenSpec('bg-ok', { trafficSteps: [10, 50, 100] });
    const flow = await startFlow(spec, 8);

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    expect(await flow.greenWeights()).toEqual([10, 50, 100]);
    const versions = Object.values(await flow.versions());
    expect(GREEN.map((n) => versions[n])).toEqual(Array(4).fill('2.0.0'));
    expect(BLUE.map((n) => versions[n])).toEqual(Array(4).fill(undefined));
    const record = await flow.orchestrator.record(run.executionName);
    expect(record).toMatchObject({ status: 'SUCCEEDED', hostCount: 4, succeeded: 4 });
    const shifts = (await flow.orchestrator.records.audit.getEvents(run.executionName)).filter((e) => e.type === 'TrafficShifted');
    expect(shifts.map((e) => [e.green, e.blue])).toEqual([
      [10, 90],
      [50, 50],
      [100, 0],
    ]);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('switches all traffic back to blue when an alarm fires during the bake after a shift', async () => {
    const spec = blueGreenSpec('bg-alarm', { trafficSteps: [10, 50, 100] }, { gates: { alarms: { names: ['bg-alarm-health'] } } });
    // Each bake lasts 200 ms locally: time for the listener below to act before the alarm gate reads.
    const flow = await startFlow(spec, 8, {}, { bakeMs: 200 });

    // Green turns unhealthy as soon as it takes its first 10%.
    const run = await flow.run(spec, undefined, (event) => {
      if (event.type === 'StateExited' && event.state.name === 'Shift Traffic To Green') {
        writeFileSync(path.join(flow.fleetDir, flow.hosts[5] as string, 'health'), 'unhealthy\n');
      }
    });

    expect(await flow.greenWeights()).toEqual([10, 0]);
    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toMatch(/^AlarmFiring: .*bg-alarm-health in ALARM.*; all traffic switched back to blue$/);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('never moves traffic when green fails its deploy, and says so', async () => {
    const spec = blueGreenSpec('bg-fail');
    const flow = await startFlow(spec, 8, { failingHosts: [6] });

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain('1 of 4 hosts failed');
    // The only write to the listener is the switch-back, which leaves all traffic on blue.
    expect(await flow.greenWeights()).toEqual([0]);
  });

  it('runs the validation command on green before any traffic moves, and switches back when it fails', async () => {
    const spec = blueGreenSpec('bg-validate', {
      validationCommand: { document: 'AWS-RunShellScript', parameters: { commands: ['test -f "$DEPLOYCTL_ROOT/ready"'] } },
    });
    const flow = await startFlow(spec, 8);
    // Three of four green hosts are ready.
    for (const n of [4, 5, 6]) await writeFile(path.join(flow.fleetDir, flow.hosts[n] as string, 'ready'), '');

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain('validation failed on 1 of 4 green hosts');
    expect(await flow.greenWeights()).toEqual([0]);
    const results = await flow.orchestrator.records.waves.getHostResults(run.executionName);
    expect(results.filter((r) => r.phase === 'validate').map((r) => r.status)).toEqual(['Success', 'Success', 'Success', 'Failed']);
  });

  it('waits for approval before the deploy and before each traffic shift when every step needs one', async () => {
    const spec = blueGreenSpec(
      'bg-approve',
      { trafficSteps: [50, 100] },
      { gates: { alarms: {}, approval: 'everyWave' }, deploymentId: 'bg-approve' },
    );
    const flow = await startFlow(spec, 8);

    const running = flow.run(spec);
    for (const by of ['alice', 'bob', 'carol']) {
      await flow.waitForGate('bg-approve', 'approval');
      await flow.orchestrator.control({ deploymentId: 'bg-approve', action: 'approve', by });
    }
    const run = await running;

    expect(run.status).toBe('SUCCEEDED');
    expect(await flow.greenWeights()).toEqual([50, 100]);
    const approvals = (await flow.orchestrator.records.audit.getEvents('bg-approve')).filter((e) => e.type === 'Approved');
    expect(approvals.map((e) => e.actor)).toEqual(['alice', 'bob', 'carol']);
  });
});
