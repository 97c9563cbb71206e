import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deployctl, json } from '#test/cli/spawn.ts';

/** `deployctl deploy --local --regions`: two local regions, each with its own fleet and table, in two region waves. */
describe('deployctl deploy --local --regions', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'deployctl-cli-regions-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('deploys region by region with progress per region wave, and status shows every region of the aggregated record', async () => {
    const target = [
      '--local',
      '--state-dir',
      'state',
      '--dynamodb-endpoint',
      inject('dynamoEndpoint'),
      '--table',
      `cli-regions-${process.pid}`,
    ];

    const run = await deployctl(cwd, ['deploy', '--demo', '--regions', 'us-east-1,eu-west-1', '--hosts', '2', '--json', ...target]);

    expect(run.code).toBe(0);
    const { record } = json<{ record: { deploymentId: string; status: string; hostCount: number } }>(run);
    expect(record).toMatchObject({ status: 'SUCCEEDED', hostCount: 4 });
    const progress = run.stderr;
    expect(progress).toContain('in 2 region wave(s): us-east-1 → eu-west-1');
    expect(progress.indexOf('region wave 1/2: us-east-1')).toBeLessThan(progress.indexOf('✓ us-east-1 SUCCEEDED: 2/2 hosts done'));
    expect(progress.indexOf('✓ us-east-1 SUCCEEDED')).toBeLessThan(progress.indexOf('region wave 2/2: eu-west-1'));
    expect(progress).toContain('✓ eu-west-1 SUCCEEDED: 2/2 hosts done, 0 failed');
    // Each region deployed its own local fleet.
    for (const fleet of ['state/fleet', 'state/regions/eu-west-1/fleet']) {
      const current = await readFile(path.join(cwd, fleet, 'i-00000000000000002/opt/deployctl/demo-web/current'), 'utf8');
      expect(current.trim()).toBe('2.0.0');
    }

    const status = await deployctl(cwd, ['status', record.deploymentId, '--json', ...target]);

    expect(status.code).toBe(0);
    expect(status.stderr).toContain(`region wave 2/2 eu-west-1: SUCCEEDED, 2 hosts (2 ok, 0 failed)`);
    const view = json<{ regions: { region: string; status: string; deploymentId: string; hosts: number }[] }>(status);
    expect(view.regions.map((r) => [r.region, r.status, r.deploymentId, r.hosts])).toEqual([
      ['us-east-1', 'SUCCEEDED', `${record.deploymentId}-us-east-1`, 2],
      ['eu-west-1', 'SUCCEEDED', `${record.deploymentId}-eu-west-1`, 2],
    ]);
    // Two processes, each synthesizing the stacks: more than the default minute on a busy runner.
  }, 180_000);
});
