import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { background, deployctl, json, stopAll } from './spawn.ts';

/**
 * Every deployctl command as a user runs it against local mode: separate
 * processes sharing one state folder, real output, --json parsed back, exit
 * codes 0 / 1 / 2.
 */

describe('deployctl commands against local mode', () => {
  let cwd: string;
  let tables = 0;
  /** Options that put a scenario in its own folder and table of the shared DynamoDB Local. */
  const scenario = () => {
    const n = tables++;
    const target = [
      '--local',
      '--state-dir',
      `state-${n}`,
      '--dynamodb-endpoint',
      inject('dynamoEndpoint'),
      '--table',
      `cmd-${process.pid}-${n}`,
    ];
    return {
      target,
      dir: `state-${n}`,
      fleet: (host: string) => path.join(cwd, `state-${n}`, 'fleet', host, 'opt', 'deployctl', 'demo-web', 'current'),
      run: (command: string, ...args: string[]) => deployctl(cwd, [command, ...args, ...target]),
      start: (command: string, ...args: string[]) => background(cwd, [command, ...args, ...target]),
    };
  };

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'deployctl-commands-'));
  });
  afterEach(stopAll);
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

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
      path.join(cwd, 'deploy.yaml'),
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

  it('a deployment whose process died is reported stranded and abort closes it, releasing the lock', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'firstWave');
    const id = /approve --local (\S+)/.exec(await deploy.waitFor(/approve --local \S+/))?.[1] as string;
    const runner = JSON.parse(await readFile(path.join(cwd, s.dir, 'runs', `${id}.json`), 'utf8')) as { pid: number };
    process.kill(-(deploy.child.pid as number), 'SIGKILL');
    process.kill(runner.pid, 'SIGKILL');
    await deploy.done;

    const status = await s.run('status', id);
    expect(status.stdout).toContain('no local process runs this deployment any more');
    const approve = await s.run('approve', id);
    expect(approve.code).toBe(2);
    expect(approve.stderr).toContain(`cannot approve deployment ${id}: no local process runs this deployment any more`);
    const locked = await s.run('deploy', '--demo');
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain(`demo-web/local is locked by deployment ${id}`);

    const abort = await s.run('abort', id);
    expect(abort.code).toBe(0);
    expect(abort.stdout).toContain('ABORTED');
    expect(json<{ record: { status: string } }>(await s.run('status', id, '--json')).record.status).toBe('ABORTED');
    expect((await s.run('deploy', '--demo')).code).toBe(0);
  });

  it('serve --local answers the HTTP API on localhost until it is stopped', async () => {
    const s = scenario();
    const serve = s.start('serve', '--port', '0');
    const url = /API on (http:\/\/\S+)/.exec(await serve.waitFor(/API on http:\/\/\S+ /))?.[1] as string;

    const posted = await fetch(`${url}/deployments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Deployctl-Caller': 'jira' },
      body: JSON.stringify({ app: 'shop', environment: 'qa', version: '1.2.0', targets: { tags: { app: 'shop', environment: 'qa' } } }),
    });
    expect(posted.status).toBe(202);
    const { deploymentId } = (await posted.json()) as { deploymentId: string };
    await serve.waitFor(`deployment ${deploymentId} ended SUCCEEDED`);
    const status = await s.run('status', deploymentId, '--json');
    expect(json<{ record: { status: string; spec: { requestedBy: string } } }>(status).record).toMatchObject({
      status: 'SUCCEEDED',
      spec: { requestedBy: 'local:jira' },
    });

    serve.child.kill('SIGTERM');
    const stopped = await serve.done;
    expect(stopped.stderr).toContain('stopping: deployments still running end ABORTED');
    await expect(fetch(`${url}/deployments`)).rejects.toThrow();
  });

  /** Polls `status --json` until the view matches (each read is a separate process, as a user would). */
  async function waitForStatus(
    s: ReturnType<typeof scenario>,
    id: string,
    done: (view: { record: { status: string; gate?: { kind: string } }; waves: { status: string }[] }) => boolean,
  ) {
    for (let attempt = 0; attempt < 60; attempt++) {
      const view = json<Parameters<typeof done>[0]>(await s.run('status', id, '--json'));
      if (done(view)) return view;
    }
    throw new Error(`deployment ${id} never reached the expected state`);
  }
});

describe('deployctl --local with its own DynamoDB Local in the state folder', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'deployctl-state-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('keeps the records in the folder between commands and stops its DynamoDB Local after the last one', async () => {
    const deploy = await deployctl(cwd, ['deploy', '--local', '--demo', '--hosts', '3', '--state-dir', 'kept', '--json']);
    expect(deploy.code).toBe(0);
    const id = json<{ record: { deploymentId: string } }>(deploy).record.deploymentId;

    const status = await deployctl(cwd, ['status', id, '--local', '--state-dir', 'kept', '--json']);

    expect(status.code).toBe(0);
    expect(json<{ record: { status: string; hostCount: number } }>(status).record).toMatchObject({ status: 'SUCCEEDED', hostCount: 3 });
    expect(await readdir(path.join(cwd, 'kept', 'dynamodb'))).toContain('shared-local-instance.db');
    await expect(readFile(path.join(cwd, 'kept', 'dynamodb.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    const java = execFileSync('ps', ['-eo', 'args']).toString();
    expect(java).not.toContain(path.join(cwd, 'kept', 'dynamodb'));
  });
});
