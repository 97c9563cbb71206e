import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeploymentService } from '#app/deployments.ts';
import { LocalRegions, type LocalRegionsOptions } from '#cli/local/regions.ts';
import { createLocalFleet, type FleetFaults } from '#cli/local/session.ts';
import { synthesizeMultiRegion } from '#cli/local/synth.ts';
import { REGIONAL_COMPLETED, REGIONAL_REQUESTED } from '#core/regions.ts';
import { type DeploymentSpecInput, parseSpec } from '#core/spec.ts';
import { systemClock } from '#ports';
import { rollingSpec } from '#test/flows/harness.ts';

/**
 * Multi-region in local mode: the control region's fan-out machine and one
 * orchestrator per region (three hosts each, its own fleet and table), the
 * local bus in between, every handler the one AWS runs.
 */

let synthesized: LocalRegionsOptions['synthesized'];
const opened: LocalRegions[] = [];

beforeAll(() => {
  synthesized = synthesizeMultiRegion();
});
afterEach(() => {
  for (const local of opened.splice(0)) local.close();
});

interface Regions {
  local: LocalRegions;
  fleets: Record<string, string>;
  /** The version each host of a region runs (undefined: never installed). */
  versions(region: string): Promise<(string | undefined)[]>;
}

const HOSTS = 3;

async function startRegions(
  spec: DeploymentSpecInput,
  faults: Record<string, FleetFaults> = {},
  options: Pick<LocalRegionsOptions, 'silentRegions' | 'regionTimeoutMs'> = {},
): Promise<Regions> {
  const parsed = parseSpec(spec);
  const names = [parsed.regions ?? [], parsed.regionWaves ?? []].flat(2);
  const run = randomUUID().slice(0, 8);
  const fleets: Record<string, string> = {};
  const hosts: Record<string, string[]> = {};
  const regions: Record<string, LocalRegionsOptions['regions'][string]> = {};
  for (const region of names) {
    fleets[region] = mkdtempSync(path.join(tmpdir(), `deployctl-${region}-`));
    hosts[region] = await createLocalFleet(fleets[region], parsed, HOSTS, faults[region] ?? {});
    regions[region] = { fleetDir: fleets[region], tableName: `mr-${run}-${region}` };
  }
  const local = await LocalRegions.start({
    synthesized,
    endpoint: inject('dynamoEndpoint'),
    controlTable: `mr-${run}-control`,
    regions,
    ...options,
  });
  opened.push(local);
  return {
    local,
    fleets,
    versions: (region) =>
      Promise.all(
        (hosts[region] ?? []).map((host) =>
          readFile(path.join(fleets[region] ?? '', host, 'opt', 'deployctl', parsed.app, 'current'), 'utf8').then(
            (s) => s.trim(),
            () => undefined,
          ),
        ),
      ),
  };
}

/** The bus's traffic as `Requested us-east-1` / `Completed us-east-1 SUCCEEDED` lines, in delivery order. */
function busLines(local: LocalRegions): string[] {
  return local.delivered.map((event) =>
    event.detailType === REGIONAL_REQUESTED
      ? `Requested ${event.detail.region} ${event.detail.phase}`
      : `Completed ${event.detail.region} ${event.detail.phase} ${event.detail.status}`,
  );
}

const spec = (app: string, overrides: Partial<DeploymentSpecInput>) =>
  rollingSpec(app, { strategy: { type: 'rolling', batchSize: '50%', maxErrors: 0 }, ...overrides });

describe('a multi-region deployment on local regions', () => {
  it('runs two region waves, the second with two regions at once, and ends SUCCEEDED with every region recorded on the parent', async () => {
    const input = spec('mr-ok', { deploymentId: 'mr-ok-1', regionWaves: [['us-east-1'], ['eu-west-1', 'ap-southeast-2']] });
    const { local, versions } = await startRegions(input);

    const run = await local.execute(input, { executionName: 'mr-ok-1' });

    expect(run.status).toBe('SUCCEEDED');
    const lines = busLines(local);
    // Wave 2 is requested only once wave 1's region has completed.
    expect(lines.slice(0, 2)).toEqual(['Requested us-east-1 deploy', 'Completed us-east-1 deploy SUCCEEDED']);
    expect(lines.slice(2).sort()).toEqual([
      'Completed ap-southeast-2 deploy SUCCEEDED',
      'Completed eu-west-1 deploy SUCCEEDED',
      'Requested ap-southeast-2 deploy',
      'Requested eu-west-1 deploy',
    ]);
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-2']) {
      expect(await versions(region)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
      // The region's own record, in its own table, links to the parent.
      const regional = await local.regions.get(region)?.record(`mr-ok-1-${region}`);
      expect(regional).toMatchObject({ status: 'SUCCEEDED', hostCount: HOSTS, spec: { parent: { deploymentId: 'mr-ok-1', region } } });
    }

    // The aggregated record, as `deployctl status` and GET /deployments/{id} read it.
    const service = createDeploymentService({
      ...local.records,
      executions: { start: () => Promise.reject(new Error('not used')) },
      callbacks: local.callbacks,
      clock: systemClock,
    });
    const view = await service.get('mr-ok-1');
    expect(view.record).toMatchObject({ status: 'SUCCEEDED', hostCount: 9, succeeded: 9, failed: 0 });
    expect(view.counts).toMatchObject({ hosts: 9, succeeded: 9, failed: 0, pending: 0 });
    expect(view.regions?.map((r) => [r.region, r.wave, r.status, r.hosts, r.succeeded])).toEqual([
      ['us-east-1', 0, 'SUCCEEDED', 3, 3],
      ['eu-west-1', 1, 'SUCCEEDED', 3, 3],
      ['ap-southeast-2', 1, 'SUCCEEDED', 3, 3],
    ]);
    for (const region of view.regions ?? []) {
      expect(region).toMatchObject({ deploymentId: `mr-ok-1-${region.region}`, durationSeconds: expect.any(Number) });
      expect(Date.parse(region.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(region.startedAt ?? ''));
      expect(region).not.toHaveProperty('token');
    }
    expect(JSON.stringify(view)).not.toContain('"token"');
  });

  it('stops after a region of wave 2 rolls back: wave 3 is never requested and wave 1 keeps the new version', async () => {
    const input = spec('mr-stop', { deploymentId: 'mr-stop-1', regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] });
    const { local, versions } = await startRegions(input, { 'eu-west-1': { failingHosts: [0] } });

    const run = await local.execute(input, { executionName: 'mr-stop-1' });

    expect(run.status).toBe('FAILED');
    expect(busLines(local)).toEqual([
      'Requested us-east-1 deploy',
      'Completed us-east-1 deploy SUCCEEDED',
      'Requested eu-west-1 deploy',
      'Completed eu-west-1 deploy ROLLED_BACK',
    ]);
    const record = await local.records.deployments.getDeployment('mr-stop-1');
    expect(record.status).toBe('FAILED');
    expect(record.reason).toContain('region eu-west-1 ROLLED_BACK');
    expect(record.reason).toContain('not started: ap-southeast-2');
    expect(record.regions?.['ap-southeast-2']?.status).toBe('PENDING');
    expect(await versions('us-east-1')).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    expect(await versions('eu-west-1')).not.toContain('2.0.0');
    expect(await versions('ap-southeast-2')).toEqual([undefined, undefined, undefined]);
  });

  it('rolls back wave 1 and the region of wave 2 that succeeded when the other fails under rollbackAll, and ends ROLLED_BACK', async () => {
    const input = spec('mr-rb', {
      deploymentId: 'mr-rb-1',
      regionWaves: [['us-east-1'], ['eu-west-1', 'ap-southeast-2']],
      regionPolicy: { onFailure: 'rollbackAll' },
    });
    const { local, versions } = await startRegions(input, { 'eu-west-1': { failingHosts: [0] } });

    const run = await local.execute(input, { executionName: 'mr-rb-1' });

    expect(run.status).toBe('FAILED');
    const lines = busLines(local);
    expect(lines.slice(0, 2)).toEqual(['Requested us-east-1 deploy', 'Completed us-east-1 deploy SUCCEEDED']);
    expect(lines.slice(2, 6).sort()).toEqual([
      'Completed ap-southeast-2 deploy SUCCEEDED',
      'Completed eu-west-1 deploy ROLLED_BACK',
      'Requested ap-southeast-2 deploy',
      'Requested eu-west-1 deploy',
    ]);
    expect(lines.slice(6).sort()).toEqual([
      'Completed ap-southeast-2 rollback SUCCEEDED',
      'Completed us-east-1 rollback SUCCEEDED',
      'Requested ap-southeast-2 rollback',
      'Requested us-east-1 rollback',
    ]);
    const record = await local.records.deployments.getDeployment('mr-rb-1');
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toContain('region eu-west-1 ROLLED_BACK');
    expect(record.reason).toContain('rolled back us-east-1, ap-southeast-2');
    expect(record.regions?.['us-east-1']).toMatchObject({
      status: 'SUCCEEDED',
      rollback: { status: 'SUCCEEDED', deploymentId: 'mr-rb-1-us-east-1-rb' },
    });
    expect(record.regions?.['eu-west-1']?.rollback).toBeUndefined();
    expect(await versions('us-east-1')).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(await versions('ap-southeast-2')).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    expect(await versions('eu-west-1')).not.toContain('2.0.0');
    // A region's rollback is a deployment of its own, recorded as the rollback of the region's deployment.
    const rollback = await local.regions.get('us-east-1')?.record('mr-rb-1-us-east-1-rb');
    expect(rollback?.spec).toMatchObject({ version: '1.0.0', previousVersion: '2.0.0', rollbackOf: 'mr-rb-1-us-east-1' });
  });

  it('fails the deployment naming the region when a region never answers, and requests no later wave', async () => {
    const input = spec('mr-silent', {
      deploymentId: 'mr-silent-1',
      regions: ['eu-west-1', 'us-east-1'],
      regionPolicy: { timeoutSeconds: 60 },
    });
    // The bus drops what is meant for eu-west-1; locally the 60 s wait is cut to 1.5 s.
    const { local, versions } = await startRegions(input, {}, { silentRegions: ['eu-west-1'], regionTimeoutMs: 1500 });

    const run = await local.execute(input, { executionName: 'mr-silent-1' });

    expect(run.status).toBe('FAILED');
    const record = await local.records.deployments.getDeployment('mr-silent-1');
    expect(record.status).toBe('FAILED');
    expect(record.reason).toBe(`region eu-west-1 did not answer within 60 s (no "${REGIONAL_COMPLETED}" event); not started: us-east-1`);
    expect(record.regions?.['eu-west-1']).toMatchObject({ status: 'TIMED_OUT', token: null });
    expect(busLines(local)).toEqual(['Requested eu-west-1 deploy']);
    expect(await versions('eu-west-1')).toEqual([undefined, undefined, undefined]);
    expect(await versions('us-east-1')).toEqual([undefined, undefined, undefined]);
  });
});
