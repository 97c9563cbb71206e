import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, localScenarios } from '#test/cli/spawn.ts';

/**
 * `deployctl plan` as a user runs it against local mode: a separate process,
 * --json parsed back, exit codes 0 and 2, nothing recorded.
 */

describe('deployctl plan against local mode', () => {
  const scenario = localScenarios('plan');

  it('plan prints the waves of the demo over the hosts a first deploy creates, and records nothing', async () => {
    const s = scenario();

    const plan = await s.run('plan', '--demo', '--batch-size', '5', '--approval', 'firstWave', '--json');

    expect(plan.code).toBe(0);
    const body = json<{ hosts: number; waves: string[][]; note: string }>(plan);
    expect(body.hosts).toBe(12);
    expect(body.waves.map((w) => w.length)).toEqual([5, 5, 2]);
    expect(body.note).toContain('the first deploy creates 12');
    expect(plan.stderr).toContain('wave 1: 5 hosts (approval first)');
    const list = await s.run('list', '--json');
    expect(json<{ items: unknown[] }>(list).items).toEqual([]);
  });

  it('plan reads the spec from a YAML file, and flags override it', async () => {
    const s = scenario();
    await writeFile(
      path.join(s.cwd, 'deploy.yaml'),
      'app: demo-web\nenvironment: local\nversion: 3.0.0\ntargets: { tags: { app: demo-web } }\nstrategy: { type: canary, stages: [25, 100] }\n',
    );

    const plan = await s.run('plan', '-f', 'deploy.yaml', '--version', '3.0.1', '--json');

    expect(plan.code).toBe(0);
    const body = json<{ spec: { version: string; strategy: { type: string } }; waves: string[][] }>(plan);
    expect(body.spec.version).toBe('3.0.1');
    expect(body.spec.strategy.type).toBe('canary');
    expect(body.waves.map((w) => w.length)).toEqual([3, 9]);
  });

  it('plan refuses a plan that breaks minHealthy, with the reason, exit 2', async () => {
    const s = scenario();

    const plan = await s.run('plan', '--demo', '--batch-size', '50%', '--min-healthy', '75%');

    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('the plan is refused');
    expect(plan.stderr).toContain('minHealthy');
  });
});
