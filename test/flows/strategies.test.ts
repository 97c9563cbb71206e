import { describe, expect, it } from 'vitest';
import type { DeploymentSpecInput } from '#core/spec.ts';
import { rollingSpec, startFlow } from '#test/flows/harness.ts';

/**
 * All-at-once, canary and linear on their own synthesized state machines, 12
 * local hosts each. Wave sizes: all-at-once 12; canary [10, 50, 100]% -> 2, 4, 6;
 * linear 25% steps -> 3, 3, 3, 3.
 */
const STRATEGIES: { name: string; strategy: DeploymentSpecInput['strategy']; waves: number[] }[] = [
  { name: 'allAtOnce', strategy: { type: 'allAtOnce' }, waves: [12] },
  { name: 'canary', strategy: { type: 'canary', stages: [10, 50, 100], bakeSeconds: 60 }, waves: [2, 4, 6] },
  { name: 'linear', strategy: { type: 'linear', stepPercent: 25, intervalSeconds: 60 }, waves: [3, 3, 3, 3] },
];

/** Index of the first host of a wave (0-based) in a plan. */
const firstHostOf = (waves: number[], wave: number) => waves.slice(0, wave).reduce((a, b) => a + b, 0);

describe.each(STRATEGIES)('a $name deployment on the local fleet', ({ name, strategy, waves }) => {
  it('deploys every host wave by wave on its own state machine and ends SUCCEEDED with the lock released', async () => {
    const spec = rollingSpec(`${name}-ok`, { strategy });
    const flow = await startFlow(spec, 12);

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    const record = await flow.orchestrator.record(run.executionName);
    expect(record).toMatchObject({ status: 'SUCCEEDED', waveCount: waves.length, hostCount: 12, succeeded: 12, failed: 0 });
    const started = (await flow.orchestrator.records.audit.getEvents(run.executionName)).filter((e) => e.type === 'WaveStarted');
    expect(started.map((e) => e.hosts)).toEqual(waves);
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));
    expect(await flow.lockHolder(spec)).toBeUndefined();
    // The run went through this strategy's machine, not another's.
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state.name.includes(stateNoun[name] ?? '?'))).toBe(true);
  });

  it('rolls back the changed hosts when a host of the middle (or only) wave fails', async () => {
    const middle = Math.floor((waves.length - 1) / 2);
    const failing = firstHostOf(waves, middle);
    const spec = rollingSpec(`${name}-fail`, { strategy });
    const flow = await startFlow(spec, 12, { failingHosts: [failing] });

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain(`wave ${middle + 1}: 1 of 12 hosts failed`);
    const changed = firstHostOf(waves, middle + 1);
    expect(record.rolledBack).toBe(changed);
    const versions = Object.values(await flow.versions());
    expect(versions.slice(0, changed).every((v) => v === '1.0.0')).toBe(true);
    expect(versions.slice(changed).every((v) => v === undefined)).toBe(true);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('rolls back when an alarm fires during the bake after the first wave', async () => {
    const spec = rollingSpec(`${name}-alarm`, { strategy, gates: { alarms: { names: [`${name}-alarm-health`] } } });
    const flow = await startFlow(spec, 12, { alarmInWave: 1 });

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toMatch(new RegExp(`^AlarmFiring: after wave 1: ${name}-alarm-health in ALARM`));
    expect(record.rolledBack).toBe(waves[0]);
    expect(Object.values(await flow.versions()).filter((v) => v === '2.0.0')).toHaveLength(0);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });
});

const stateNoun: Record<string, string> = { allAtOnce: 'All Hosts', canary: 'Canary Stage', linear: 'Linear Step' };

describe('minHealthy on the local fleet', () => {
  it('refuses a canary whose stage would take more hosts out than minHealthy allows, before any host changes', async () => {
    const spec = rollingSpec('canary-min-healthy', { strategy: { type: 'canary', stages: [50, 100], minHealthy: '75%' } });
    const flow = await startFlow(spec, 12);

    const run = await flow.run(spec);

    const record = await flow.orchestrator.record(run.executionName);
    expect(record.status).toBe('FAILED');
    expect(record.reason).toMatch(/^PlanRefused: a canary wave of 6 hosts would leave fewer than minHealthy \(75%\) of 12 hosts/);
    expect(Object.values(await flow.commandCounts()).every((n) => n === 0)).toBe(true);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });
});
