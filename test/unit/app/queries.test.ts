import { describe, expect, it } from 'vitest';
import { createQueries, MAX_PAGE_SIZE } from '#app/queries.ts';
import { BadCursor, RecordNotFound } from '#core/errors.ts';
import type { HostResult } from '#core/records.ts';
import { parseSpec } from '#core/spec.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

const spec = { app: 'web', environment: 'prod', version: '1.2.3', targets: { tags: { Role: 'web' } } };

/** A running deployment waiting at an approval gate, with two planned waves of which the second is beyond waveCount. */
async function gated(ports: ReturnType<typeof memoryPorts>, id = 'dep-1') {
  const now = ports.clock.now();
  await ports.deployments.createDeployment(id, parseSpec({ ...spec, deploymentId: id }), id, now);
  await ports.deployments.updateDeployment(
    id,
    {
      status: 'RUNNING',
      waveCount: 1,
      hostCount: 5,
      succeeded: 2,
      failed: 1,
      gate: { kind: 'approval', wave: 1, token: 'secret-gate-token', since: now.toISOString() },
    },
    now,
  );
  await ports.waves.putWave(id, 0, ['i-1', 'i-2', 'i-3']);
  await ports.waves.putWave(id, 1, ['i-4', 'i-5']);
}

/** A multi-region parent whose regions' waits hold tokens. */
async function multiRegion(ports: ReturnType<typeof memoryPorts>) {
  const now = ports.clock.now();
  await ports.deployments.createDeployment(
    'dep-mr',
    parseSpec({ ...spec, deploymentId: 'dep-mr', regions: ['us-east-1', 'eu-west-1'] }),
    'dep-mr',
    now,
  );
  await ports.deployments.updateDeployment(
    'dep-mr',
    {
      status: 'RUNNING',
      regionWaves: [['us-east-1'], ['eu-west-1']],
      regions: {
        'eu-west-1': { wave: 1, deploymentId: 'dep-mr-eu-west-1', status: 'REQUESTED', token: 'secret-eu' },
        'us-east-1': {
          wave: 0,
          deploymentId: 'dep-mr-us-east-1',
          status: 'SUCCEEDED',
          startedAt: '2026-03-02T09:00:00.000Z',
          endedAt: '2026-03-02T09:02:30.000Z',
          rollback: { deploymentId: 'dep-mr-us-east-1-rb', status: 'REQUESTED', token: 'secret-rb' },
        },
      },
    },
    now,
  );
}

describe('createQueries().get', () => {
  it('answers the record without the gate token, its planned waves and the host counts', async () => {
    const ports = memoryPorts();
    await gated(ports);

    const view = await createQueries(ports).get('dep-1');

    expect(view.record.gate).toEqual({ kind: 'approval', wave: 1, since: ports.clock.now().toISOString() });
    expect(JSON.stringify(view)).not.toContain('secret-gate-token');
    expect(view.waves.map((w) => w.wave)).toEqual([0]);
    expect(view.counts).toEqual({ hosts: 5, succeeded: 2, failed: 1, rolledBack: 0, pending: 2 });
    expect(view).not.toHaveProperty('regions');
  });

  it("lists a multi-region deployment's regions in wave order with their durations, and no region's token", async () => {
    const ports = memoryPorts();
    await multiRegion(ports);

    const view = await createQueries(ports).get('dep-mr');

    expect(view.regions?.map((r) => r.region)).toEqual(['us-east-1', 'eu-west-1']);
    expect(view.regions?.[0]).toMatchObject({ status: 'SUCCEEDED', durationSeconds: 150, rollback: { status: 'REQUESTED' } });
    expect(JSON.stringify(view)).not.toMatch(/secret-/);
  });

  it('throws RecordNotFound for an unknown deployment', async () => {
    await expect(createQueries(memoryPorts()).get('nope')).rejects.toBeInstanceOf(RecordNotFound);
  });
});

describe('createQueries().list', () => {
  it('pages every deployment newest first with an opaque next token, without any task token', async () => {
    const ports = memoryPorts();
    await gated(ports, 'dep-1');
    ports.clock.advance(60);
    await multiRegion(ports);
    const queries = createQueries(ports);

    const first = await queries.list({ limit: 1 });
    const second = await queries.list({ limit: 1, nextToken: first.nextToken });

    expect(first.items.map((r) => r.deploymentId)).toEqual(['dep-mr']);
    expect(first.nextToken).toEqual(expect.any(String));
    expect(second.items.map((r) => r.deploymentId)).toEqual(['dep-1']);
    expect(second).not.toHaveProperty('nextToken');
    expect(JSON.stringify([first, second])).not.toMatch(/secret-/);
    expect(second.items[0]?.gate).toEqual({ kind: 'approval', wave: 1, since: expect.any(String) });
  });

  it('keeps a cleared gate as null and pages at most MAX_PAGE_SIZE, at least one', async () => {
    const ports = memoryPorts();
    await gated(ports);
    await ports.deployments.clearGate('dep-1', 'secret-gate-token', ports.clock.now());
    const asked: number[] = [];
    const list = ports.deployments.listDeployments.bind(ports.deployments);
    ports.deployments.listDeployments = (limit, cursor) => {
      asked.push(limit);
      return list(limit, cursor);
    };
    const queries = createQueries(ports);

    const page = await queries.list({ limit: 1000 });
    await queries.list({ limit: 0 });
    await queries.list();

    expect(page.items[0]?.gate).toBeNull();
    expect(asked).toEqual([MAX_PAGE_SIZE, 1, 20]);
  });

  it('refuses with BadCursor a next token it did not hand out', async () => {
    const ports = memoryPorts();
    const queries = createQueries(ports);
    ports.deployments.listDeployments = async () => {
      throw Object.assign(new Error('The provided starting key is invalid'), { name: 'ValidationException' });
    };

    await expect(queries.list({ nextToken: 'not base64 json' })).rejects.toBeInstanceOf(BadCursor);
    await expect(queries.list({ nextToken: Buffer.from('[1]').toString('base64url') })).rejects.toBeInstanceOf(BadCursor);
    await expect(queries.list({ nextToken: Buffer.from('{"pk":"x"}').toString('base64url') })).rejects.toThrow(/this listing handed out/);
    // Without a cursor, the store's error is not the caller's.
    await expect(queries.list()).rejects.toThrow(/starting key is invalid/);
  });
});

describe('createQueries().history', () => {
  it("pages an app+env's releases newest first", async () => {
    const ports = memoryPorts();
    for (const [i, version] of ['1.0.0', '1.1.0', '1.2.0'].entries()) {
      const id = `dep-${i}`;
      await ports.deployments.createDeployment(id, parseSpec({ ...spec, version, deploymentId: id }), id, ports.clock.now());
      ports.clock.advance(60);
      const record = await ports.deployments.finishDeployment(id, 'SUCCEEDED', undefined, ports.clock.now());
      await ports.releases.putRelease(record, 'SUCCEEDED', ports.clock.now());
    }
    const queries = createQueries(ports);

    const first = await queries.history('web', 'prod', { limit: 2 });
    const rest = await queries.history('web', 'prod', { limit: 2, nextToken: first.nextToken });

    expect(first.items.map((r) => r.version)).toEqual(['1.2.0', '1.1.0']);
    expect(rest.items.map((r) => r.version)).toEqual(['1.0.0']);
    expect(rest).not.toHaveProperty('nextToken');
    await expect(queries.history('web', 'dev')).resolves.toEqual({ items: [] });
  });
});

describe('createQueries().logs', () => {
  it("answers each host's result and the audit trail without the table's keys", async () => {
    const ports = memoryPorts();
    await gated(ports);
    const result: HostResult = {
      instanceId: 'i-1',
      wave: 0,
      phase: 'deploy',
      status: 'Success',
      statusDetails: 'Success',
      commandId: 'cmd-1',
      version: '1.2.3',
      output: 'ok',
    };
    await ports.waves.putHostResults('dep-1', [result], ports.clock.now());
    await ports.audit.appendEvent('dep-1', 'WaveStarted', 'deployctl', { wave: 0 }, ports.clock.now());
    const getHostResults = ports.waves.getHostResults.bind(ports.waves);
    ports.waves.getHostResults = async (id) => (await getHostResults(id)).map((h) => ({ ...h, pk: 'DEP#dep-1', sk: 'HOST#i-1' }));

    const logs = await createQueries(ports).logs('dep-1');

    expect(logs).toEqual({
      deploymentId: 'dep-1',
      hosts: [{ ...result, updatedAt: ports.clock.now().toISOString() }],
      events: [expect.objectContaining({ type: 'WaveStarted', actor: 'deployctl', wave: 0 })],
    });
    expect(JSON.stringify(logs)).not.toMatch(/"pk"|"sk"/);
  });

  it('throws RecordNotFound for an unknown deployment', async () => {
    await expect(createQueries(memoryPorts()).logs('nope')).rejects.toBeInstanceOf(RecordNotFound);
  });
});
