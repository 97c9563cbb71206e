import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deployctl } from '#test/cli/spawn.ts';

/**
 * `deployctl deploy --local` as a user runs it: a separate process, its own
 * working directory, a relative state dir, exit codes and --json on stdout.
 */

describe('deployctl deploy --local', () => {
  let cwd: string;
  let table = 0;
  const local = (...args: string[]) => [
    'deploy',
    '--local',
    '--demo',
    '--state-dir',
    'state',
    '--dynamodb-endpoint',
    inject('dynamoEndpoint'),
    '--table',
    `cli-${process.pid}-${table++}`,
    ...args,
  ];

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'deployctl-cli-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('deploys the demo to a fleet under a relative state dir, exits 0 and prints the record as JSON', async () => {
    const run = await deployctl(cwd, local('--json'));

    expect(run.code).toBe(0);
    const { execution, record } = JSON.parse(run.stdout);
    expect(execution.status).toBe('SUCCEEDED');
    expect(record).toMatchObject({ status: 'SUCCEEDED', waveCount: 4, hostCount: 12, succeeded: 12, failed: 0 });
    expect(run.stderr).toContain('✓ wave 4/4');
    // The hosts ran the deploy document from the fleet under the working directory.
    const current = await readFile(path.join(cwd, 'state/fleet/i-0000000000000000c/opt/deployctl/demo-web/current'), 'utf8');
    expect(current.trim()).toBe('2.0.0');
  });

  it('exits 1 with the record ROLLED_BACK when planted failures exceed maxErrors, and the changed hosts are back on 1.0.0', async () => {
    const run = await deployctl(cwd, local('--fail-hosts', '5,6', '--max-errors', '1'));

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ wave 2/4');
    expect(run.stdout).toContain('✗ ROLLED_BACK');
    const firstHost = await readFile(path.join(cwd, 'state/fleet/i-00000000000000001/opt/deployctl/demo-web/current'), 'utf8');
    expect(firstHost.trim()).toBe('1.0.0');
  });

  it('runs a blue-green deployment on the demo fleet with an approval given by --auto-approve', async () => {
    const run = await deployctl(
      cwd,
      local('--strategy', 'blue-green', '--traffic-steps', '50,100', '--approval', 'firstWave', '--auto-approve', 'alice', '--json'),
    );

    expect(run.code).toBe(0);
    const { record } = JSON.parse(run.stdout);
    expect(record).toMatchObject({ status: 'SUCCEEDED', hostCount: 6 });
    expect(record.spec.strategy).toMatchObject({ type: 'blueGreen', trafficSteps: [50, 100] });
    expect(run.stderr).toContain('wave 1 approved by alice (--auto-approve)');
    expect(run.stderr).toContain('⇄ traffic: green 50% / blue 50%');
    expect(run.stderr).toContain('⇄ traffic: green 100% / blue 0%');
  });

  it('exits 2 naming every bad field, and starts nothing', async () => {
    const run = await deployctl(cwd, [
      'deploy',
      '--local',
      '--demo',
      '--state-dir',
      'untouched',
      '--version',
      '1.0;reboot',
      '--batch-size',
      '0',
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing was started');
    expect(run.stderr).toMatch(/version: .*letters, digits/);
    expect(run.stderr).toMatch(/strategy\.batchSize: /);
    await expect(readFile(path.join(cwd, 'untouched/fleet'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 2 naming strategy.listenerArn for a blue-green spec file on a Network Load Balancer listener, and starts nothing', async () => {
    await writeFile(
      path.join(cwd, 'nlb.yaml'),
      [
        'app: demo-web',
        'environment: local',
        'version: 3.0.0',
        'targets: { tags: { app: demo-web } }',
        'strategy:',
        '  type: blueGreen',
        '  blue: { tags: { color: blue } }',
        '  green: { tags: { color: green } }',
        '  listenerArn: arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/net/local/0123456789abcdef/fedcba9876543210',
        '  blueTargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef',
        '  greenTargetGroupArn: arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/0123456789abcdef',
        '',
      ].join('\n'),
    );

    const run = await deployctl(cwd, ['deploy', '--local', '-f', 'nlb.yaml', '--state-dir', 'untouched-nlb']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing was started');
    expect(run.stderr).toMatch(/strategy\.listenerArn: a Network Load Balancer listener .*Application Load Balancer feature/);
    await expect(readFile(path.join(cwd, 'untouched-nlb/fleet'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
