import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { LockHeld, RecordNotFound, TokenNotFound } from '#core/errors.ts';
import { type HostResult, keys } from '#core/records.ts';
import { putRequests, type TableMock } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, host, hosts, metaItem, NOW, NOW_EPOCH_SECONDS, specOf, TABLE } from '#test/support/fixtures.ts';

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

function hostResult(n: number): HostResult {
  return {
    instanceId: host(n),
    wave: 0,
    phase: 'deploy',
    status: 'Success',
    statusDetails: 'Success',
    commandId: 'cmd-1',
    version: '1.2.3',
  };
}

/** The items of each BatchWriteItem call, in order. */
function batchWrites(db: TableMock) {
  return db.commandCalls(BatchWriteCommand).map((call) => (call.args[0].input.RequestItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item));
}

describe('Records', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const records = dynamoRecords(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE);
  const spec = specOf();

  beforeEach(() => {
    db.reset();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('createDeployment', () => {
    it('puts the META record only if none exists, with the listing index keys', async () => {
      db.on(PutCommand).resolves({});

      await expect(records.deployments.createDeployment(DEPLOYMENT_ID, spec, 'exec-1', NOW)).resolves.toBe('created');

      expect(db).toReceiveCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: {
          pk: 'DEPLOY#dep-1',
          sk: 'META',
          // The listing index's keys: every deployment, newest first.
          kind: 'DEPLOYMENT',
          deploymentId: DEPLOYMENT_ID,
          spec,
          status: 'PENDING',
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
          executionName: 'exec-1',
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('reports an existing record instead of overwriting it', async () => {
      db.on(PutCommand).rejects(conditionFailed());

      await expect(records.deployments.createDeployment(DEPLOYMENT_ID, spec, 'exec-1', NOW)).resolves.toBe('exists');
    });

    it('passes on any other DynamoDB error', async () => {
      db.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));

      await expect(records.deployments.createDeployment(DEPLOYMENT_ID, spec, 'exec-1', NOW)).rejects.toThrow(
        'ProvisionedThroughputExceeded',
      );
    });
  });

  describe('getDeployment', () => {
    it('reads the META record consistently', async () => {
      db.on(GetCommand).resolves({ Item: metaItem(spec) });

      const record = await records.deployments.getDeployment(DEPLOYMENT_ID);

      expect(record.spec).toEqual(spec);
      expect(db).toReceiveCommandWith(GetCommand, { TableName: TABLE, Key: { pk: 'DEPLOY#dep-1', sk: 'META' }, ConsistentRead: true });
    });

    it('throws RecordNotFound for an unknown deployment', async () => {
      db.on(GetCommand).resolves({});

      await expect(records.deployments.getDeployment('nope')).rejects.toThrow(RecordNotFound);
    });
  });

  describe('updateDeployment', () => {
    it('sets the given fields and updatedAt on an existing record, skipping undefined ones', async () => {
      db.on(UpdateCommand).resolves({});

      await records.deployments.updateDeployment(DEPLOYMENT_ID, { succeeded: 3, failed: 0, reason: undefined }, NOW);

      expect(db).toReceiveCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: keys.meta(DEPLOYMENT_ID),
        UpdateExpression: 'SET #f0 = :v0, #f1 = :v1, #f2 = :v2',
        ExpressionAttributeNames: { '#f0': 'succeeded', '#f1': 'failed', '#f2': 'updatedAt' },
        ExpressionAttributeValues: { ':v0': 3, ':v1': 0, ':v2': '2026-01-01T00:00:00.000Z' },
        ConditionExpression: 'attribute_exists(pk)',
      });
    });
  });

  describe('finishDeployment', () => {
    it('sets the terminal status once, unless a different one was set before', async () => {
      db.on(UpdateCommand).resolves({ Attributes: metaItem(spec, 'SUCCEEDED') });

      const record = await records.deployments.finishDeployment(DEPLOYMENT_ID, 'SUCCEEDED', undefined, NOW);

      expect(record.status).toBe('SUCCEEDED');
      expect(db).toReceiveCommandExactlyOnceWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(endedAt) OR #status = :status)',
        ExpressionAttributeValues: { ':status': 'SUCCEEDED', ':reason': null, ':at': '2026-01-01T00:00:00.000Z' },
        ReturnValues: 'ALL_NEW',
      });
    });

    it('returns the record as it stands when another outcome was recorded first', async () => {
      db.on(UpdateCommand).rejects(conditionFailed());
      db.on(GetCommand).resolves({ Item: metaItem(spec, 'ROLLED_BACK') });

      const record = await records.deployments.finishDeployment(DEPLOYMENT_ID, 'FAILED', 'late failure', NOW);

      expect(record.status).toBe('ROLLED_BACK');
      expect(db).toReceiveCommandWith(GetCommand, { Key: keys.meta(DEPLOYMENT_ID), ConsistentRead: true });
    });
  });

  describe('acquireLock', () => {
    it('takes the lock with a conditional put that allows a free, expired or own lock', async () => {
      db.on(PutCommand).resolves({});

      await records.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, NOW, 3600);

      expect(db).toReceiveCommandExactlyOnceWith(PutCommand, {
        TableName: TABLE,
        Item: {
          pk: 'LOCK#web#prod',
          sk: 'LOCK',
          holder: DEPLOYMENT_ID,
          acquiredAt: '2026-01-01T00:00:00.000Z',
          expiresAt: NOW_EPOCH_SECONDS + 3600,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :me OR expiresAt < :now',
        ExpressionAttributeValues: { ':me': DEPLOYMENT_ID, ':now': NOW_EPOCH_SECONDS },
      });
      expect(db).toReceiveCommandTimes(GetCommand, 0);
    });

    it('throws LockHeld naming the holder read back from the table when the condition fails', async () => {
      db.on(PutCommand).rejects(conditionFailed());
      db.on(GetCommand, { Key: keys.lock('web', 'prod') }).resolves({ Item: { ...keys.lock('web', 'prod'), holder: 'dep-0' } });
      db.on(GetCommand, { Key: keys.meta('dep-0') }).resolves({ Item: { ...keys.meta('dep-0'), status: 'RUNNING' } });

      const error = await records.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, NOW, 3600).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LockHeld);
      expect(error).toMatchObject({ name: 'LockHeld', holder: 'dep-0', message: 'web/prod is locked by deployment dep-0' });
      expect((error as LockHeld).cause).toBeInstanceOf(ConditionalCheckFailedException);
      expect(db).toReceiveCommandWith(GetCommand, { Key: keys.lock('web', 'prod'), ConsistentRead: true });
    });

    it('takes over a lock whose holder has ended and is releasing it, only from that holder', async () => {
      db.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
      db.on(GetCommand, { Key: keys.lock('web', 'prod') }).resolves({ Item: { ...keys.lock('web', 'prod'), holder: 'dep-0' } });
      db.on(GetCommand, { Key: keys.meta('dep-0') }).resolves({
        Item: { ...keys.meta('dep-0'), status: 'SUCCEEDED', endedAt: '2025-12-31T23:59:59.000Z' },
      });

      await records.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, NOW, 3600);

      expect(db).toReceiveNthCommandWith(PutCommand, 2, {
        Item: expect.objectContaining({ holder: DEPLOYMENT_ID }),
        ConditionExpression: 'attribute_not_exists(pk) OR holder = :ended',
        ExpressionAttributeValues: { ':ended': 'dep-0' },
      });
    });

    it('still throws LockHeld when the lock vanished before it could be read back', async () => {
      db.on(PutCommand).rejects(conditionFailed());
      db.on(GetCommand).resolves({});

      await expect(records.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, NOW, 3600)).rejects.toMatchObject({
        name: 'LockHeld',
        holder: 'another deployment',
      });
    });

    it('passes on other errors without reading the lock', async () => {
      db.on(PutCommand).rejects(new Error('InternalServerError'));

      await expect(records.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, NOW, 3600)).rejects.toThrow('InternalServerError');
      expect(db).toReceiveCommandTimes(GetCommand, 0);
    });
  });

  describe('releaseLock', () => {
    it('deletes the lock only if this deployment holds it', async () => {
      db.on(DeleteCommand).resolves({});

      await expect(records.locks.releaseLock('web', 'prod', DEPLOYMENT_ID)).resolves.toBe(true);
      expect(db).toReceiveCommandExactlyOnceWith(DeleteCommand, {
        TableName: TABLE,
        Key: { pk: 'LOCK#web#prod', sk: 'LOCK' },
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': DEPLOYMENT_ID },
      });
    });

    it('reports that it released nothing when another deployment holds the lock', async () => {
      db.on(DeleteCommand).rejects(conditionFailed());

      await expect(records.locks.releaseLock('web', 'prod', DEPLOYMENT_ID)).resolves.toBe(false);
    });
  });

  describe('putWave', () => {
    it('stores the wave summary and its hosts in chunks of 1000', async () => {
      db.on(BatchWriteCommand).resolves({});
      const wave = hosts(2500);

      await records.waves.putWave(DEPLOYMENT_ID, 3, wave);

      expect(db).toReceiveCommandTimes(BatchWriteCommand, 1);
      expect(db).toReceiveCommandWith(BatchWriteCommand, {
        RequestItems: putRequests(
          { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003', wave: 3, hosts: 2500, chunks: 3, status: 'PLANNED' },
          { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003#HOSTS#0000', wave: 3, chunk: 0, instanceIds: wave.slice(0, 1000) },
          { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003#HOSTS#0001', wave: 3, chunk: 1, instanceIds: wave.slice(1000, 2000) },
          { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003#HOSTS#0002', wave: 3, chunk: 2, instanceIds: wave.slice(2000) },
        ),
      });
    });

    it('splits a wave of more than 24 chunks over several BatchWriteItem calls', async () => {
      db.on(BatchWriteCommand).resolves({});

      await records.waves.putWave(DEPLOYMENT_ID, 0, hosts(30_000));

      expect(batchWrites(db).map((items) => items.length)).toEqual([25, 6]);
      expect(batchWrites(db).flat().at(-1)).toMatchObject({ sk: 'WAVE#0000#HOSTS#0029' });
    });
  });

  describe('getWaveHosts', () => {
    it('queries every page of the wave host chunks and joins them', async () => {
      db.on(QueryCommand)
        .resolvesOnce({
          Items: [{ instanceIds: [host(1), host(2)] }],
          LastEvaluatedKey: { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003#HOSTS#0000' },
        })
        .resolvesOnce({ Items: [{ instanceIds: [host(3)] }] });

      expect(await records.waves.getWaveHosts(DEPLOYMENT_ID, 3)).toEqual([host(1), host(2), host(3)]);
      expect(db).toReceiveNthCommandWith(QueryCommand, 1, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': 'DEPLOY#dep-1', ':sk': 'WAVE#0003#HOSTS#' },
        ExclusiveStartKey: undefined,
        ConsistentRead: true,
      });
      expect(db).toReceiveNthCommandWith(QueryCommand, 2, {
        ExclusiveStartKey: { pk: 'DEPLOY#dep-1', sk: 'WAVE#0003#HOSTS#0000' },
      });
    });
  });

  describe('addWaveCommand', () => {
    it('appends batch n of the wave only if the list holds exactly the n batches before it, keeping the first send time', async () => {
      db.on(UpdateCommand).resolves({});

      expect(await records.waves.addWaveCommand(DEPLOYMENT_ID, 2, 3, 'cmd-7', NOW)).toBe(true);

      expect(db).toReceiveCommandExactlyOnceWith(UpdateCommand, {
        TableName: TABLE,
        Key: keys.wave(DEPLOYMENT_ID, 2),
        UpdateExpression:
          'SET commandIds = list_append(if_not_exists(commandIds, :none), :one), #status = :running, sentAt = if_not_exists(sentAt, :at) REMOVE sending',
        ConditionExpression: 'size(commandIds) = :batch',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':none': [],
          ':one': ['cmd-7'],
          ':running': 'RUNNING',
          ':at': '2026-01-01T00:00:00.000Z',
          ':batch': 3,
        },
      });
    });

    it('answers false when the batch was stored already (a retry racing an earlier attempt)', async () => {
      db.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));

      expect(await records.waves.addWaveCommand(DEPLOYMENT_ID, 0, 0, 'cmd-7', NOW)).toBe(false);
      expect(db).toReceiveCommandWith(UpdateCommand, {
        ConditionExpression: 'attribute_not_exists(commandIds) OR size(commandIds) = :zero',
      });
    });
  });

  describe('appendEventOnce', () => {
    it('writes a guard item and the event in one transaction, the guard only if absent', async () => {
      db.on(TransactWriteCommand).resolves({});

      expect(await records.audit.appendEventOnce(DEPLOYMENT_ID, 'WaveFinished#2', 'WaveFinished', 'deployctl', { wave: 2 }, NOW)).toBe(
        true,
      );

      expect(db).toReceiveCommandExactlyOnceWith(TransactWriteCommand, {
        TransactItems: [
          {
            Put: {
              TableName: TABLE,
              Item: { pk: `DEPLOY#${DEPLOYMENT_ID}`, sk: 'ONCE#WaveFinished#2', at: '2026-01-01T00:00:00.000Z' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: TABLE,
              Item: expect.objectContaining({ pk: `DEPLOY#${DEPLOYMENT_ID}`, type: 'WaveFinished', actor: 'deployctl', wave: 2 }),
            },
          },
        ],
      });
    });

    it('answers false, writing nothing, when the guard exists (the retry of a task that wrote it)', async () => {
      db.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
        }),
      );

      expect(await records.audit.appendEventOnce(DEPLOYMENT_ID, 'Closed', 'DeploymentFinished', 'deployctl', {}, NOW)).toBe(false);
    });

    it('lets any other transaction failure through', async () => {
      db.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({ message: 'cancelled', $metadata: {}, CancellationReasons: [{ Code: 'ThrottlingError' }] }),
      );

      await expect(records.audit.appendEventOnce(DEPLOYMENT_ID, 'Closed', 'DeploymentFinished', 'deployctl', {}, NOW)).rejects.toThrow(
        TransactionCanceledException,
      );
    });
  });

  describe('putCommandTokens', () => {
    it('stores the token under each command id before marking the wave fully sent', async () => {
      db.on(UpdateCommand).resolves({ Attributes: { allSent: true, commandIds: ['cmd-1', 'cmd-2'] } });
      db.on(BatchWriteCommand).resolves({});

      const result = await records.waves.putCommandTokens(DEPLOYMENT_ID, 2, ['cmd-1', 'cmd-2'], 'token-1', NOW);

      const ttl = NOW_EPOCH_SECONDS + 3 * 24 * 3600;
      expect(db).toReceiveCommandWith(BatchWriteCommand, {
        RequestItems: putRequests(
          { pk: 'CMD#cmd-1', sk: 'TOKEN', token: 'token-1', deploymentId: DEPLOYMENT_ID, wave: 2, ttl },
          { pk: 'CMD#cmd-2', sk: 'TOKEN', token: 'token-1', deploymentId: DEPLOYMENT_ID, wave: 2, ttl },
        ),
      });
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.wave(DEPLOYMENT_ID, 2),
        UpdateExpression: 'SET allSent = :yes, tokenAt = :at',
        ReturnValues: 'ALL_NEW',
      });
      const order = db.calls().map((call) => call.args[0].constructor.name);
      expect(order).toEqual(['BatchWriteCommand', 'UpdateCommand']);
      expect(result).toEqual({ waveDone: false });
    });

    it('reports the wave done when every command finished before the token was stored', async () => {
      db.on(UpdateCommand).resolves({ Attributes: { allSent: true, commandIds: ['cmd-1'], completedCommands: new Set(['cmd-1']) } });
      db.on(BatchWriteCommand).resolves({});

      await expect(records.waves.putCommandTokens(DEPLOYMENT_ID, 2, ['cmd-1'], 'token-2', NOW)).resolves.toEqual({ waveDone: true });
    });
  });

  describe('completeCommand', () => {
    beforeEach(() => {
      db.on(GetCommand).resolves({});
      db.on(GetCommand, { Key: keys.command('cmd-2') }).resolves({
        Item: { ...keys.command('cmd-2'), token: 'token-1', deploymentId: DEPLOYMENT_ID, wave: 1 },
      });
    });

    it('adds the command to the completed set of its wave and reports the wave done when none is left', async () => {
      db.on(UpdateCommand).resolves({
        Attributes: { allSent: true, commandIds: ['cmd-1', 'cmd-2'], completedCommands: new Set(['cmd-1', 'cmd-2']) },
      });

      const completion = await records.waves.completeCommand('cmd-2');

      expect(completion).toEqual({ token: 'token-1', deploymentId: DEPLOYMENT_ID, wave: 1, waveDone: true });
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.wave(DEPLOYMENT_ID, 1),
        UpdateExpression: 'ADD completedCommands :cid',
        ExpressionAttributeValues: { ':cid': new Set(['cmd-2']) },
        ReturnValues: 'ALL_NEW',
      });
    });

    it('reports the wave not done while another command is outstanding', async () => {
      db.on(UpdateCommand).resolves({ Attributes: { commandIds: ['cmd-1', 'cmd-2'], completedCommands: new Set(['cmd-2']) } });

      expect((await records.waves.completeCommand('cmd-2')).waveDone).toBe(false);
    });

    it('throws TokenNotFound when the sender has not stored the token yet', async () => {
      await expect(records.waves.completeCommand('cmd-unknown')).rejects.toThrow(TokenNotFound);
      expect(db).toReceiveCommandTimes(UpdateCommand, 0);
    });
  });

  describe('putHostResults', () => {
    it('writes 60 host results in BatchWriteItem calls of 25, 25 and 10', async () => {
      db.on(BatchWriteCommand).resolves({});
      const results = Array.from({ length: 60 }, (_, i) => hostResult(i));

      await records.waves.putHostResults(DEPLOYMENT_ID, results, NOW);

      expect(db).toReceiveCommandTimes(BatchWriteCommand, 3);
      const writes = batchWrites(db);
      expect(writes.map((items) => items.length)).toEqual([25, 25, 10]);
      expect(writes.flat().map((item) => item?.sk)).toEqual(results.map((r) => `HOST#${r.instanceId}`));
      expect(writes[0]?.[0]).toEqual({
        pk: 'DEPLOY#dep-1',
        sk: `HOST#${host(0)}`,
        ...hostResult(0),
        updatedAt: '2026-01-01T00:00:00.000Z',
      });
    });

    it('resends the items DynamoDB left unprocessed', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const results = Array.from({ length: 3 }, (_, i) => hostResult(i));
      const leftOver = [{ PutRequest: { Item: { ...keys.host(DEPLOYMENT_ID, host(2)), ...hostResult(2), updatedAt: NOW.toISOString() } } }];
      db.on(BatchWriteCommand)
        .resolvesOnce({ UnprocessedItems: { [TABLE]: leftOver } })
        .resolves({});

      await records.waves.putHostResults(DEPLOYMENT_ID, results, NOW);

      expect(db).toReceiveCommandTimes(BatchWriteCommand, 2);
      expect(db).toReceiveNthCommandWith(BatchWriteCommand, 2, { RequestItems: { [TABLE]: leftOver } });
    });

    it('gives up when items stay unprocessed after nine attempts', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const stuck = [{ PutRequest: { Item: { ...keys.host(DEPLOYMENT_ID, host(0)) } } }];
      db.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: stuck } });

      await expect(records.waves.putHostResults(DEPLOYMENT_ID, [hostResult(0)], NOW)).rejects.toThrow(
        'BatchWriteItem left 1 items unprocessed after 9 attempts',
      );
      expect(db).toReceiveCommandTimes(BatchWriteCommand, 9);
    });

    it('makes no call for no results', async () => {
      await records.waves.putHostResults(DEPLOYMENT_ID, [], NOW);

      expect(db).toReceiveCommandTimes(BatchWriteCommand, 0);
    });
  });

  describe('lastGoodVersion', () => {
    it('reads releases newest first and returns the first successful one, across pages', async () => {
      db.on(QueryCommand)
        .resolvesOnce({ Items: [{ status: 'FAILED', version: '1.3.0' }], LastEvaluatedKey: { pk: 'APP#web#prod', sk: 'RELEASE#x' } })
        .resolvesOnce({
          Items: [
            { status: 'ROLLED_BACK', version: '1.2.9' },
            { status: 'SUCCEEDED', version: '1.2.8' },
          ],
        });

      expect(await records.releases.lastGoodVersion('web', 'prod')).toBe('1.2.8');
      expect(db).toReceiveNthCommandWith(QueryCommand, 1, {
        ExpressionAttributeValues: { ':pk': 'APP#web#prod', ':sk': 'RELEASE#' },
        ScanIndexForward: false,
      });
    });

    it('has no version when no release succeeded', async () => {
      db.on(QueryCommand).resolves({ Items: [{ status: 'FAILED', version: '1.0.0' }] });

      expect(await records.releases.lastGoodVersion('web', 'prod')).toBeUndefined();
    });
  });

  describe('putRelease', () => {
    it('records the release with its versions, status and duration', async () => {
      db.on(PutCommand).resolves({});
      const record = metaItem(specOf({ previousVersion: '1.2.2' }), 'SUCCEEDED');

      await records.releases.putRelease(record, 'SUCCEEDED', NOW);

      expect(db).toReceiveCommandExactlyOnceWith(PutCommand, {
        Item: {
          pk: 'APP#web#prod',
          sk: 'RELEASE#2026-01-01T00:00:00.000Z',
          deploymentId: DEPLOYMENT_ID,
          version: '1.2.3',
          previousVersion: '1.2.2',
          status: 'SUCCEEDED',
          startedAt: '2025-12-31T23:00:00.000Z',
          endedAt: '2026-01-01T00:00:00.000Z',
          durationSeconds: 3600,
        },
      });
    });

    it('keys the release by the end time the record keeps, so that a retried close writes the same item', async () => {
      db.on(PutCommand).resolves({});
      const record = metaItem(specOf(), 'SUCCEEDED', { endedAt: '2025-12-31T23:30:00.000Z' });

      await records.releases.putRelease(record, 'SUCCEEDED', NOW);
      await records.releases.putRelease(record, 'SUCCEEDED', new Date('2026-01-01T00:05:00.000Z'));

      const items = db.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
      expect(items.map((item) => item?.sk)).toEqual(['RELEASE#2025-12-31T23:30:00.000Z', 'RELEASE#2025-12-31T23:30:00.000Z']);
      expect(items[1]).toMatchObject({ endedAt: '2025-12-31T23:30:00.000Z', durationSeconds: 1800 });
    });

    it("stores the spec's commit time and the deployment a manual rollback undoes, for the DORA metrics", async () => {
      db.on(PutCommand).resolves({});
      const record = metaItem(
        specOf({ previousVersion: '1.2.2', commitTime: '2025-12-31T20:00:00+01:00', rollbackOf: 'dep-0' }),
        'SUCCEEDED',
      );

      await records.releases.putRelease(record, 'SUCCEEDED', NOW);

      expect(db).toReceiveCommandExactlyOnceWith(PutCommand, {
        Item: expect.objectContaining({ deploymentId: DEPLOYMENT_ID, commitTime: '2025-12-31T20:00:00+01:00', rollbackOf: 'dep-0' }),
      });
    });

    it('leaves commitTime and rollbackOf out of a release whose spec has neither', async () => {
      db.on(PutCommand).resolves({});

      await records.releases.putRelease(metaItem(specOf(), 'FAILED'), 'FAILED', NOW);

      const item = db.commandCalls(PutCommand)[0]?.args[0].input.Item ?? {};
      expect(item.status).toBe('FAILED');
      expect(Object.keys(item)).not.toContain('commitTime');
      expect(Object.keys(item)).not.toContain('rollbackOf');
    });
  });
});
