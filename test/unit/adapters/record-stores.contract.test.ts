import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { createTable, localDocumentClient } from '#cli/local/dynamodb.ts';
import { cachedTable } from '#cli/local/synth-cache.ts';
import { parseSpec } from '#core/spec.ts';
import type { RecordStores } from '#ports';
import { memoryRecords } from '#test/support/memory-ports.ts';

/**
 * The record stores' contract: the DynamoDB stores (against DynamoDB Local)
 * and the in-memory stores the use-case tests run on answer the same calls
 * the same way. A behaviour only one of them has is a bug in the other.
 */

const T0 = new Date('2026-03-02T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const spec = (version = '1.0.0') =>
  parseSpec({ app: 'web', environment: 'prod', version, targets: { tags: { Role: 'web' } }, deploymentId: 'd-1' });

const stores: [string, () => Promise<RecordStores>][] = [
  [
    'the DynamoDB stores',
    async () => {
      const table = `contract-${randomUUID()}`;
      await createTable(inject('dynamoEndpoint'), table, await cachedTable());
      return dynamoRecords(localDocumentClient(inject('dynamoEndpoint')), table);
    },
  ],
  ['the in-memory stores', async () => memoryRecords()],
];

describe.each(stores)('%s', (_name, open) => {
  let records: RecordStores;
  beforeAll(async () => {
    records = await open();
  });

  it('create a deployment once: a second create answers "exists" and keeps the first record', async () => {
    expect(await records.deployments.createDeployment('c-1', spec('1.0.0'), 'exec-1', T0)).toBe('created');
    expect(await records.deployments.createDeployment('c-1', spec('2.0.0'), 'exec-2', at(1))).toBe('exists');
    const record = await records.deployments.getDeployment('c-1');
    expect(record).toMatchObject({ deploymentId: 'c-1', status: 'PENDING', executionName: 'exec-1', createdAt: T0.toISOString() });
    expect(record.spec.version).toBe('1.0.0');
  });

  it('refuse to read or update a deployment that has no record', async () => {
    await expect(records.deployments.getDeployment('c-none')).rejects.toMatchObject({ name: 'RecordNotFound' });
    await expect(records.deployments.updateDeployment('c-none', { status: 'RUNNING' }, T0)).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('keep the first terminal status of a deployment and its end time', async () => {
    await records.deployments.createDeployment('c-2', spec(), 'exec', T0);
    await records.deployments.updateDeployment('c-2', { status: 'RUNNING', currentWave: 1 }, at(1));
    const first = await records.deployments.finishDeployment('c-2', 'ROLLED_BACK', 'wave 2 failed', at(2));
    const later = await records.deployments.finishDeployment('c-2', 'FAILED', 'something else', at(3));
    expect(first).toMatchObject({ status: 'ROLLED_BACK', reason: 'wave 2 failed', endedAt: at(2).toISOString(), currentWave: 1 });
    expect(later).toMatchObject({ status: 'ROLLED_BACK', reason: 'wave 2 failed', endedAt: at(2).toISOString() });
  });

  it('clear a gate only for the token it holds, and only once', async () => {
    await records.deployments.createDeployment('c-3', spec(), 'exec', T0);
    await records.deployments.updateDeployment('c-3', { gate: { kind: 'approval', wave: 0, token: 'tok', since: T0.toISOString() } }, T0);
    expect(await records.deployments.clearGate('c-3', 'other', at(1))).toBe(false);
    expect(await records.deployments.clearGate('c-3', 'tok', at(1))).toBe(true);
    expect(await records.deployments.clearGate('c-3', 'tok', at(2))).toBe(false);
    expect((await records.deployments.getDeployment('c-3')).gate).toBeNull();
  });

  it('hold the app+env lock for one live deployment, and free it when it expires, ends or is released', async () => {
    await records.deployments.createDeployment('l-1', spec(), 'exec', T0);
    await records.locks.acquireLock('shop', 'qa', 'l-1', T0, 60);
    await records.locks.acquireLock('shop', 'qa', 'l-1', at(1), 60);
    await expect(records.locks.acquireLock('shop', 'qa', 'l-2', at(2), 60)).rejects.toMatchObject({ name: 'LockHeld', holder: 'l-1' });
    expect(await records.locks.getLiveLockHolder('shop', 'qa', at(2))).toBe('l-1');
    expect(await records.locks.getLiveLockHolder('shop', 'qa', at(120))).toBeUndefined();
    await records.locks.acquireLock('shop', 'qa', 'l-2', at(120), 60);
    expect(await records.locks.releaseLock('shop', 'qa', 'l-1')).toBe(false);
    expect(await records.locks.getLockHolder('shop', 'qa')).toBe('l-2');
    expect(await records.locks.releaseLock('shop', 'qa', 'l-2')).toBe(true);
    expect(await records.locks.getLockHolder('shop', 'qa')).toBeUndefined();

    await records.locks.acquireLock('shop', 'qa', 'l-1', at(200), 600);
    await records.deployments.finishDeployment('l-1', 'SUCCEEDED', undefined, at(201));
    expect(await records.locks.getLiveLockHolder('shop', 'qa', at(202))).toBeUndefined();
    await records.locks.acquireLock('shop', 'qa', 'l-3', at(202), 600);
    expect(await records.locks.getLockHolder('shop', 'qa')).toBe('l-3');
  });

  it('store a wave batch by batch: a batch is stored only after the ones before it, and only once', async () => {
    await records.waves.putWave('w-1', 0, ['i-1', 'i-2', 'i-3']);
    expect(await records.waves.getWaveHosts('w-1', 0)).toEqual(['i-1', 'i-2', 'i-3']);
    expect(await records.waves.getWaveHosts('w-1', 1)).toEqual([]);
    await records.waves.markSending('w-1', 0, 0, T0);
    expect(await records.waves.getWaveSending('w-1', 0)).toEqual({ commandIds: [], sending: { batch: 0, at: T0.toISOString() } });
    expect(await records.waves.addWaveCommand('w-1', 0, 1, 'cmd-b', at(1))).toBe(false);
    expect(await records.waves.addWaveCommand('w-1', 0, 0, 'cmd-a', at(1))).toBe(true);
    expect(await records.waves.addWaveCommand('w-1', 0, 0, 'cmd-a', at(2))).toBe(false);
    expect(await records.waves.addWaveCommand('w-1', 0, 1, 'cmd-b', at(3))).toBe(true);
    expect(await records.waves.getWaveSending('w-1', 0)).toEqual({ commandIds: ['cmd-a', 'cmd-b'], sentAt: at(1).toISOString() });
    expect(await records.waves.getWaveCommands('w-1', 0)).toEqual(['cmd-a', 'cmd-b']);
  });

  it('count a wave done only once every command is sent and has finished', async () => {
    await records.waves.putWave('w-2', 0, ['i-1', 'i-2']);
    await records.waves.addWaveCommand('w-2', 0, 0, 'cmd-x', T0);
    await records.waves.putCommandToken('w-2', 0, 'cmd-x', 'tok-1', T0);
    await expect(records.waves.completeCommand('cmd-unknown')).rejects.toMatchObject({ name: 'TokenNotFound' });
    expect(await records.waves.completeCommand('cmd-x')).toEqual({ token: 'tok-1', deploymentId: 'w-2', wave: 0, waveDone: false });
    await records.waves.addWaveCommand('w-2', 0, 1, 'cmd-y', at(1));
    expect(await records.waves.putCommandTokens('w-2', 0, ['cmd-x', 'cmd-y'], 'tok-2', at(1))).toEqual({ waveDone: false });
    expect(await records.waves.completeCommand('cmd-y')).toEqual({ token: 'tok-2', deploymentId: 'w-2', wave: 0, waveDone: true });
  });

  it('summarize waves in order with their results, and keep one result per host', async () => {
    await records.waves.putWave('w-3', 1, ['i-3']);
    await records.waves.putWave('w-3', 0, ['i-1', 'i-2']);
    await records.waves.addWaveCommand('w-3', 0, 0, 'cmd-1', T0);
    await records.waves.putWaveResult('w-3', { wave: 0, hosts: 2, succeeded: 1, failed: 1 }, at(5));
    const waves = await records.waves.getWaves('w-3');
    expect(waves).toEqual([
      expect.objectContaining({ wave: 0, hosts: 2, status: 'DONE', succeeded: 1, failed: 1, commands: 1, endedAt: at(5).toISOString() }),
      expect.objectContaining({ wave: 1, hosts: 1, status: 'PLANNED', commands: 0 }),
    ]);
    const result = { wave: 0, phase: 'deploy' as const, statusDetails: 'Success', commandId: 'cmd-1', version: '1.0.0' };
    await records.waves.putHostResults('w-3', [{ ...result, instanceId: 'i-2', status: 'Failed' }], at(5));
    await records.waves.putHostResults(
      'w-3',
      [
        { ...result, instanceId: 'i-2', status: 'Success' },
        { ...result, instanceId: 'i-1', status: 'Success' },
      ],
      at(6),
    );
    const hosts = await records.waves.getHostResults('w-3');
    expect(hosts.map((h) => [h.instanceId, h.status])).toEqual([
      ['i-1', 'Success'],
      ['i-2', 'Success'],
    ]);
  });

  it('write an audit event once per key however often it is retried, and read the trail in time order', async () => {
    await records.audit.appendEvent('a-1', 'DeploymentRequested', 'alice', { version: '1.0.0' }, T0);
    expect(await records.audit.appendEventOnce('a-1', 'WaveStarted#0', 'WaveStarted', 'deployctl', { wave: 0 }, at(1))).toBe(true);
    expect(await records.audit.appendEventOnce('a-1', 'WaveStarted#0', 'WaveStarted', 'deployctl', { wave: 0 }, at(2))).toBe(false);
    const events = await records.audit.getEvents('a-1');
    expect(events.map((e) => [e.type, e.actor, e.at])).toEqual([
      ['DeploymentRequested', 'alice', T0.toISOString()],
      ['WaveStarted', 'deployctl', at(1).toISOString()],
    ]);
    expect(events[0]).toMatchObject({ version: '1.0.0' });
  });

  it('list releases newest first in pages, rewrite a retried close, and find the last good version', async () => {
    const release = async (id: string, version: string, status: 'SUCCEEDED' | 'FAILED', end: number) => {
      await records.deployments.createDeployment(id, { ...spec(version), app: 'rel', deploymentId: id }, 'exec', at(end - 10));
      const ended = await records.deployments.finishDeployment(id, status, undefined, at(end));
      await records.releases.putRelease(ended, status, at(end));
    };
    await release('r-1', '1.0.0', 'SUCCEEDED', 100);
    await release('r-2', '1.1.0', 'SUCCEEDED', 200);
    await release('r-3', '1.2.0', 'FAILED', 300);
    await records.releases.putRelease(await records.deployments.getDeployment('r-3'), 'FAILED', at(400));
    const first = await records.releases.listReleases('rel', 'prod', 2);
    expect(first.items.map((r) => [r.version, r.status, r.durationSeconds])).toEqual([
      ['1.2.0', 'FAILED', 10],
      ['1.1.0', 'SUCCEEDED', 10],
    ]);
    const second = await records.releases.listReleases('rel', 'prod', 2, first.cursor);
    expect(second.items.map((r) => r.version)).toEqual(['1.0.0']);
    expect(second.cursor).toBeUndefined();
    expect(await records.releases.lastGoodVersion('rel', 'prod')).toBe('1.1.0');
    expect(await records.releases.lastGoodVersion('rel', 'none')).toBeUndefined();
  });

  it("update one region's entry of a multi-region record, and refuse a region it does not have", async () => {
    await records.deployments.createDeployment('m-1', spec(), 'exec', T0);
    await records.deployments.updateDeployment(
      'm-1',
      { regions: { 'eu-west-1': { wave: 0, deploymentId: 'm-1-eu-west-1', status: 'PENDING' } } },
      T0,
    );
    await records.regions.updateRegion('m-1', 'eu-west-1', 'deploy', { status: 'REQUESTED', token: 't' }, at(1));
    await records.regions.updateRegion('m-1', 'eu-west-1', 'rollback', { status: 'REQUESTED', deploymentId: 'm-1-eu-west-1-rb' }, at(2));
    await expect(records.regions.updateRegion('m-1', 'us-east-1', 'deploy', { status: 'REQUESTED' }, at(3))).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    const { regions } = await records.deployments.getDeployment('m-1');
    expect(regions?.['eu-west-1']).toEqual({
      wave: 0,
      deploymentId: 'm-1-eu-west-1',
      status: 'REQUESTED',
      token: 't',
      rollback: { status: 'REQUESTED', deploymentId: 'm-1-eu-west-1-rb' },
    });
  });
});
