import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Backend } from '#cli/backend.ts';
import type { Output } from '#cli/commands.ts';
import { metrics } from '#cli/metrics.ts';
import type { Page, Release } from '#core/records.ts';
import { deployctl } from '#test/cli/spawn.ts';

/**
 * `deployctl metrics` as a user runs it: deployments recorded by separate
 * local runs, then the metrics read back from the release history.
 */

describe('deployctl metrics against local mode', () => {
  let cwd: string;
  const target = () => [
    '--local',
    '--state-dir',
    'state',
    '--dynamodb-endpoint',
    inject('dynamoEndpoint'),
    '--table',
    `metrics-${process.pid}`,
  ];
  const run = (command: string, ...args: string[]) => deployctl(cwd, [command, ...args, ...target()]);

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'deployctl-metrics-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  // Two local deployments run in full: more than the default minute on a busy machine.
  it('computes the DORA keys from a rolled-back and a successful deployment, as JSON and as a table', { timeout: 240_000 }, async () => {
    const commitTime = new Date(Date.now() - 3600_000).toISOString();
    const failed = await run('deploy', '--demo', '--hosts', '8', '--fail-hosts', '5,6', '--max-errors', '1', '--commit-time', commitTime);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('ROLLED_BACK');
    const fixed = await run('deploy', '--demo', '--version', '2.0.1', '--commit-time', commitTime, '--json');
    expect(fixed.code).toBe(0);

    const result = await run('metrics', '--app', 'demo-web', '--env', 'local', '--json');

    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as {
      app: string;
      deployments: number;
      byStatus: Record<string, number>;
      changeFailureRate: number;
      leadTime: { medianSeconds: number; samples: number } | null;
      timeToRestore: { medianSeconds: number; samples: number } | null;
      window: { days: number };
      bands: Record<string, string | null>;
    };
    expect(body).toMatchObject({ app: 'demo-web', deployments: 2, byStatus: { SUCCEEDED: 1, ROLLED_BACK: 1 }, changeFailureRate: 0.5 });
    expect(body.window.days).toBe(30);
    // Committed an hour before the deploy started: at least an hour of lead time.
    expect(body.leadTime?.samples).toBe(1);
    expect(body.leadTime?.medianSeconds).toBeGreaterThanOrEqual(3600);
    expect(body.timeToRestore?.samples).toBe(1);
    expect(body.timeToRestore?.medianSeconds).toBeGreaterThan(0);
    expect(body.bands.changeFailureRate).toBe('low');
    // Under --json the table goes to stderr.
    expect(result.stderr).toContain('DORA metrics of demo-web in local');
    expect(result.stderr).toMatch(/change failure rate\s+50% \(1 of 2 changes\)\s+low/);
    expect(result.stderr).toMatch(/lead time for changes\s+median 1h/);
  });

  it('refuses a --since that is neither a duration nor a past date with exit 2, naming the flag', async () => {
    const result = await run('metrics', '--app', 'demo-web', '--env', 'local', '--since', '30 days');

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--since 30 days: give a duration back from now (12h, 30d, 2w)');
  });
});

describe('metrics', () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const UNTIL = new Date('2026-03-31T00:00:00Z');

  function releaseEnded(hoursAgo: number, status: Release['status'] = 'SUCCEEDED'): Release {
    const end = new Date(UNTIL.getTime() - hoursAgo * HOUR).toISOString();
    return {
      app: 'web',
      environment: 'prod',
      deploymentId: `d-${hoursAgo}`,
      version: '1.0.0',
      previousVersion: null,
      status,
      startedAt: end,
      endedAt: end,
      durationSeconds: 0,
    };
  }

  /** The releases (newest first) served as listReleases does, with the cursor of each page it was asked for. */
  function recordsWith(releases: Release[]) {
    const calls: (Record<string, unknown> | undefined)[] = [];
    const records = {
      releases: {
        listReleases: async (_app: string, _env: string, limit: number, cursor?: Record<string, unknown>): Promise<Page<Release>> => {
          calls.push(cursor);
          const from = Number(cursor?.at ?? 0);
          const items = releases.slice(from, from + limit);
          return { items, ...(from + limit < releases.length ? { cursor: { at: from + limit } } : {}) };
        },
      },
    };
    return { records: records as unknown as Backend['records'], calls };
  }

  function capture(): Output & { lines: string[]; results: unknown[] } {
    const lines: string[] = [];
    const results: unknown[] = [];
    return { json: true, lines, results, line: (text) => lines.push(text), result: (value) => results.push(value) };
  }

  it('reads pages of releases only until one reaches back past the window start', async () => {
    // One release every two hours, at odd hours back from the window end, over 37.5 days.
    const history = Array.from({ length: 450 }, (_, i) => releaseEnded(2 * i + 1));
    const { records, calls } = recordsWith(history);
    const out = capture();

    const code = await metrics({ records }, out, { app: 'web', env: 'prod', since: new Date(UNTIL.getTime() - 15 * DAY), until: UNTIL });

    expect(code).toBe(0);
    // Releases 0..179 ended in the last 15 days (360 hours): the second page reaches past the start, the third is never read.
    expect(calls).toEqual([undefined, { at: 100 }]);
    expect(out.results).toEqual([expect.objectContaining({ app: 'web', environment: 'prod', deployments: 180 })]);
  });

  it('prints that no deployment ended in the window for an empty history, and answers with empty metrics', async () => {
    const { records } = recordsWith([]);
    const out = capture();

    await metrics({ records }, out, { app: 'web', env: 'prod', since: new Date(UNTIL.getTime() - 7 * DAY), until: UNTIL });

    expect(out.lines).toEqual([
      'DORA metrics of web in prod, 2026-03-24 00:00Z to 2026-03-31 00:00Z (7 days)',
      '  no deployment ended in this window',
    ]);
    expect(out.results).toEqual([
      expect.objectContaining({ deployments: 0, changeFailureRate: null, leadTime: null, timeToRestore: null }),
    ]);
  });
});
