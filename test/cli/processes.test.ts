import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployctl, json, localScenarios } from '#test/cli/spawn.ts';

/**
 * deployctl's processes and their lifetimes in local mode: a deployment
 * whose process was killed, `serve` until it gets SIGTERM, and the state
 * folder's own DynamoDB Local, stopped when its last command ends.
 */

describe('deployctl processes against local mode', () => {
  const scenario = localScenarios('processes');

  it('a deployment whose process died is reported stranded and abort closes it, releasing the lock', async () => {
    const s = scenario();
    const deploy = s.start('deploy', '--demo', '--approval', 'firstWave');
    const id = /approve --local (\S+)/.exec(await deploy.waitFor(/approve --local \S+/))?.[1] as string;
    const runner = JSON.parse(await readFile(path.join(s.cwd, s.dir, 'runs', `${id}.json`), 'utf8')) as { pid: number };
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
