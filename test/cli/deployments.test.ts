import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { json, localScenarios } from '#test/cli/spawn.ts';

/**
 * Deployments as a user starts them against local mode, one process each:
 * rollback of a finished deployment, and the refusals (exit 2) that start
 * nothing: bad input, an existing deployment id, a fleet of another size.
 */

describe('deployctl rollback and refusals against local mode', () => {
  const scenario = localScenarios('deployments');

  it('rollback deploys the previous version of a finished deployment with its strategy, and history shows both', async () => {
    const s = scenario();
    const first = await s.run('deploy', '--demo', '--version', '3.0.0', '--previous-version', '2.0.0', '--json');
    expect(first.code).toBe(0);
    const id = json<{ record: { deploymentId: string } }>(first).record.deploymentId;
    expect((await readFile(s.fleet('i-0000000000000000c'), 'utf8')).trim()).toBe('3.0.0');

    const rollback = await s.run('rollback', id, '--json');

    expect(rollback.code).toBe(0);
    const record = json<{ record: { spec: { version: string; rollbackOf: string }; status: string } }>(rollback).record;
    expect(record).toMatchObject({ status: 'SUCCEEDED', spec: { version: '2.0.0', rollbackOf: id } });
    expect((await readFile(s.fleet('i-0000000000000000c'), 'utf8')).trim()).toBe('2.0.0');
    const history = json<{ items: { version: string }[] }>(await s.run('history', '--app', 'demo-web', '--env', 'local', '--json'));
    expect(history.items.map((r) => r.version)).toEqual(['2.0.0', '3.0.0']);
    const list = json<{ items: { deploymentId: string }[] }>(await s.run('list', '--limit', '1', '--json'));
    expect(list.items).toHaveLength(1);
  });

  it('refuses bad input with exit 2, naming the problem', async () => {
    const s = scenario();

    const unknown = await s.run('status', 'no-such-deployment');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('deployment no-such-deployment has no record');

    const noApp = await s.run('history', '--env', 'local');
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toContain("required option '--app <name>' not specified");

    const badToken = await s.run('list', '--next-token', 'garbage');
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toContain('nextToken is not one this API handed out');

    const notWaiting = await s.run('approve', 'no-such-deployment');
    expect(notWaiting.code).toBe(2);

    const badSpec = await s.run('deploy', '--demo', '--version', '1.0;reboot', '--json');
    expect(badSpec.code).toBe(2);
    expect(badSpec.stdout).toBe('');
    expect(badSpec.stderr).toMatch(/version: .*letters, digits/);
  });

  it('refuses to start a deployment id that exists already, and leaves its record as it was', async () => {
    const s = scenario();
    const first = await s.run('deploy', '--demo', '--hosts', '2', '--deployment-id', 'release-1', '--json');
    expect(first.code).toBe(0);

    const again = await s.run('deploy', '--demo', '--deployment-id', 'release-1');

    expect(again.code).toBe(2);
    expect(again.stderr).toContain('deployment release-1 exists already (SUCCEEDED); nothing was started');
    const status = json<{ record: { status: string; endedAt: string } }>(await s.run('status', 'release-1', '--json'));
    expect(status.record).toEqual(
      expect.objectContaining({ status: 'SUCCEEDED', endedAt: json<{ record: { endedAt: string } }>(first).record.endedAt }),
    );
  });

  it('keeps the fleet between deploys and refuses a different --hosts for it', async () => {
    const s = scenario();
    expect((await s.run('deploy', '--demo', '--hosts', '4')).code).toBe(0);

    const again = await s.run('deploy', '--demo', '--hosts', '6');

    expect(again.code).toBe(2);
    expect(again.stderr).toContain('the local fleet has 4 hosts for demo-web/local, not 6');
    const second = await s.run('deploy', '--demo', '--version', '2.1.0', '--previous-version', '2.0.0', '--json');
    expect(json<{ record: { hostCount: number } }>(second).record.hostCount).toBe(4);
  });
});
