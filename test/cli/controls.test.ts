import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { json, localScenarios, type Scenario } from '#test/cli/spawn.ts';

/**
 * A local deployment runs in its `deployctl deploy` process while other
 * processes follow it (status, watch) and answer it (approve, reject, pause,
 * resume, abort) through the shared state folder; exit codes 0 / 1.
 */

describe('deployctl controls from other processes against local mode', () => {
  const scenario = localScenarios('controls');

  it('a deployment waits for `deployctl approve` from another process while status and watch follow it', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'firstWave', '--json');
    const waiting = await deploy.waitFor(/waits for an approval: deployctl approve --local (\S+)/);
    const id = /approve --local (\S+)/.exec(waiting)?.[1] as string;

    const status = await s.run('status', id, '--json');
    expect(status.code).toBe(0);
    const view = json<{ record: { status: string; gate: { kind: string; wave: number } }; counts: { hosts: number } }>(status);
    expect(view.record.status).toBe('RUNNING');
    expect(view.record.gate).toMatchObject({ kind: 'approval', wave: 0 });
    expect(view.counts.hosts).toBe(12);
    expect(status.stderr).toContain('waiting for an approval before wave 1');

    const watch = s.start('watch', id);
    await watch.waitFor('waiting for approval of wave 1');
    const approve = await s.run('approve', id, '--comment', 'ship it', '--json');
    expect(approve.code).toBe(0);
    expect(json(approve)).toMatchObject({ deploymentId: id, action: 'approve', message: 'wave 1 approved by tester' });

    const [deployed, watched] = await Promise.all([deploy.done, watch.done]);
    expect(deployed.code).toBe(0);
    expect(json<{ record: { status: string } }>(deployed).record.status).toBe('SUCCEEDED');
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('✓ wave 4/4: 3 ok, 0 failed');
    expect(watched.stdout).toContain('✓ SUCCEEDED');
    expect(watched.stdout).toContain('RUNNING · alarms OK · hosts 0/12 done');

    const logs = await s.run('logs', id, '--json');
    const trail = json<{ hosts: { instanceId: string; status: string; output?: string }[]; events: { type: string; actor: string }[] }>(
      logs,
    );
    expect(trail.hosts).toHaveLength(12);
    expect(trail.hosts.every((h) => h.status === 'Success')).toBe(true);
    expect(trail.hosts[0]?.output).toContain('2.0.0');
    expect(trail.events).toContainEqual(expect.objectContaining({ type: 'Approved', actor: 'tester', comment: 'ship it' }));

    const history = await s.run('history', '--app', 'demo-web', '--env', 'local', '--json');
    expect(json<{ items: { deploymentId: string; status: string; version: string }[] }>(history).items).toEqual([
      expect.objectContaining({ deploymentId: id, status: 'SUCCEEDED', version: '2.0.0' }),
    ]);
  });

  it('reject ends the waiting deployment with exit 1 and nothing changed', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'firstWave');
    const id = /approve --local (\S+)/.exec(await deploy.waitFor(/approve --local \S+/))?.[1] as string;

    const reject = await s.run('reject', id, '--comment', 'not today');

    expect(reject.code).toBe(0);
    expect(reject.stdout).toContain('wave 1 rejected by tester');
    const deployed = await deploy.done;
    expect(deployed.code).toBe(1);
    const status = await s.run('status', id, '--json');
    expect(status.code).toBe(1);
    expect(json<{ record: { status: string; reason: string } }>(status).record).toMatchObject({ status: 'FAILED' });
    await expect(readFile(s.fleet('i-00000000000000001'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('pause holds a running deployment before its next wave until resume', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'firstWave');
    const id = /approve --local (\S+)/.exec(await deploy.waitFor(/approve --local \S+/))?.[1] as string;

    expect((await s.run('pause', id)).code).toBe(0);
    expect((await s.run('approve', id)).code).toBe(0);
    await deploy.waitFor('✓ wave 1/4');
    const paused = await waitForStatus(s, id, (view) => view.record.gate?.kind === 'resume');
    expect(paused.record.status).toBe('RUNNING');
    expect(paused.waves.filter((w) => w.status === 'DONE')).toHaveLength(1);

    const resume = await s.run('resume', id);
    expect(resume.code).toBe(0);
    expect((await deploy.done).code).toBe(0);
  });

  it('abort rolls back the hosts a waiting deployment changed and ends it ABORTED, exit 1', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'everyWave');
    const id = /approve --local (\S+)/.exec(await deploy.waitFor(/approve --local \S+/))?.[1] as string;
    expect((await s.run('approve', id)).code).toBe(0);
    await deploy.waitFor('wave 2 waits for an approval');

    const abort = await s.run('abort', id, '--comment', 'wrong build');

    expect(abort.code).toBe(0);
    expect(abort.stdout).toContain('aborted; rolling back the changed hosts');
    expect((await deploy.done).code).toBe(1);
    const status = await s.run('status', id, '--json');
    expect(json<{ record: { status: string; rolledBack: number } }>(status).record).toMatchObject({ status: 'ABORTED', rolledBack: 3 });
    expect((await readFile(s.fleet('i-00000000000000001'), 'utf8')).trim()).toBe('1.0.0');
  });

  /** Reads `status --json` until the view matches (each read a separate process, as a user would). */
  async function waitForStatus(
    s: Scenario,
    id: string,
    done: (view: { record: { status: string; gate?: { kind: string } }; waves: { status: string }[] }) => boolean,
  ) {
    return vi.waitFor(
      async () => {
        const view = json<Parameters<typeof done>[0]>(await s.run('status', id, '--json'));
        if (!done(view)) throw new Error(`deployment ${id} has not reached the expected state yet`);
        return view;
      },
      { timeout: 45_000, interval: 100 },
    );
  }
});
