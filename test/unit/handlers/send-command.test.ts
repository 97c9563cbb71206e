import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RollbackUnavailable } from '#core/errors.ts';
import { keys, ROLLBACK_WAVE } from '#core/records.ts';
import { DEPLOY_DOCUMENT } from '#core/spec.ts';
import { createSendCommand } from '#handlers/send-command.ts';
import { acceptWrites, awsTestDeps, batchWrittenItems, commandTokenItems, givenDeployment, givenWave } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, hosts, lambdaContext, NOW_EPOCH_SECONDS, specOf, stateOf } from '#test/support/fixtures.ts';

describe('send-command', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ssm = mockClient(SSMClient);
  const eventbridge = mockClient(EventBridgeClient);
  const sfn = mockClient(SFNClient);
  const handler = createSendCommand(awsTestDeps());

  beforeEach(() => {
    db.reset();
    ssm.reset();
    eventbridge.reset();
    sfn.reset();
    sfn.on(SendTaskSuccessCommand).resolves({});
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm
      .on(SendCommandCommand)
      .resolvesOnce({ Command: { CommandId: 'cmd-1' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-2' } })
      .resolvesOnce({ Command: { CommandId: 'cmd-3' } });
  });

  describe('in the deploy phase', () => {
    const fleet = hosts(120);

    beforeEach(() => {
      givenDeployment(db, specOf({ command: { timeoutSeconds: 900 } }));
      givenWave(db, 1, fleet);
    });

    it('sends the wave command to 120 hosts in SendCommand calls of 50, 50 and 20', async () => {
      const result = await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-1', 'cmd-2', 'cmd-3'] });
      expect(ssm).toReceiveCommandTimes(SendCommandCommand, 3);
      expect(ssm).toReceiveNthCommandWith(SendCommandCommand, 1, { InstanceIds: fleet.slice(0, 50) });
      expect(ssm).toReceiveNthCommandWith(SendCommandCommand, 2, { InstanceIds: fleet.slice(50, 100) });
      expect(ssm).toReceiveNthCommandWith(SendCommandCommand, 3, { InstanceIds: fleet.slice(100) });
    });

    it('passes the deploy values as document parameters, never in the command text', async () => {
      await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext);

      for (const [n, call] of ssm.commandCalls(SendCommandCommand).entries()) {
        expect(call.args[0].input).toEqual({
          InstanceIds: expect.any(Array),
          DocumentName: DEPLOY_DOCUMENT,
          Parameters: { app: ['web'], environment: ['prod'], version: ['1.2.3'], action: ['deploy'] },
          TimeoutSeconds: 900,
          Comment: `deployctl wave 2 batch ${n + 1}/3 dep-1`,
          MaxConcurrency: '100%',
          MaxErrors: '100%',
        });
      }
    });

    it('stores the task token under every command id it sent', async () => {
      await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext);

      const ttl = NOW_EPOCH_SECONDS + 3 * 24 * 3600;
      // Each as soon as its command is sent: a command that finishes while later batches go out finds it.
      expect(commandTokenItems(db)).toEqual(
        ['cmd-1', 'cmd-2', 'cmd-3'].map((commandId) => ({
          ...keys.command(commandId),
          token: 'token-1',
          deploymentId: DEPLOYMENT_ID,
          wave: 1,
          ttl,
        })),
      );
      const appended = db
        .commandCalls(UpdateCommand)
        .map((call) => call.args[0].input)
        .filter((input) => input.UpdateExpression?.startsWith('SET commandIds = list_append'))
        .map((input) => input.ExpressionAttributeValues?.[':one']);
      expect(appended).toEqual([['cmd-1'], ['cmd-2'], ['cmd-3']]);
      expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 0);
    });

    it('records the current wave and announces that the wave started', async () => {
      await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext);

      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ExpressionAttributeNames: { '#f0': 'currentWave', '#f1': 'updatedAt' },
        ExpressionAttributeValues: { ':v0': 1, ':v1': '2026-01-01T00:00:00.000Z' },
      });
      const entry = eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
      expect(entry?.DetailType).toBe('Deployment Status Change');
      expect(JSON.parse(entry?.Detail ?? '{}')).toEqual({
        deploymentId: DEPLOYMENT_ID,
        app: 'web',
        environment: 'prod',
        status: 'WAVE_STARTED',
        wave: 1,
      });
    });

    it('resumes a retry after the chunks an earlier attempt sent, and stores the new token for every command', async () => {
      givenWave(db, 1, fleet, ['cmd-a', 'cmd-b']);

      const result = await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-2', phase: 'deploy' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-a', 'cmd-b', 'cmd-1'] });
      expect(ssm).toReceiveCommandExactlyOnceWith(SendCommandCommand, { InstanceIds: fleet.slice(100) });
      expect(commandTokenItems(db)).toEqual([
        expect.objectContaining({ ...keys.command('cmd-1'), token: 'token-2' }),
        expect.objectContaining({ ...keys.command('cmd-a'), token: 'token-2' }),
        expect.objectContaining({ ...keys.command('cmd-b'), token: 'token-2' }),
      ]);
      // The earlier attempt died before announcing the wave: this one does.
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 1);
    });

    it('announces nothing again when the attempt before it had announced the wave', async () => {
      givenWave(db, 1, fleet, ['cmd-a', 'cmd-b']);
      db.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
        }),
      );

      await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-2', phase: 'deploy' }, lambdaContext);

      expect(db).toReceiveCommandWith(TransactWriteCommand, {
        TransactItems: [
          expect.objectContaining({ Put: expect.objectContaining({ Item: expect.objectContaining({ sk: 'ONCE#WaveStarted#1' }) }) }),
          expect.anything(),
        ],
      });
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 0);
    });

    it('records the intent before each SendCommand, and stores each command id at its batch position', async () => {
      await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext);

      const waveUpdates = db
        .commandCalls(UpdateCommand)
        .map((call) => call.args[0].input)
        .filter((input) => input.Key?.sk === keys.wave(DEPLOYMENT_ID, 1).sk && !input.UpdateExpression?.includes('allSent'));
      expect(waveUpdates.map((u) => u.ExpressionAttributeValues?.[':intent']?.batch ?? u.ExpressionAttributeValues?.[':one']?.[0])).toEqual(
        [0, 'cmd-1', 1, 'cmd-2', 2, 'cmd-3'],
      );
    });

    it('finds the command an attempt that died after SendCommand had sent, and does not send it again', async () => {
      db.on(GetCommand, { Key: keys.wave(DEPLOYMENT_ID, 1) }).resolves({
        Item: { ...keys.wave(DEPLOYMENT_ID, 1), commandIds: ['cmd-a'], sending: { batch: 1, at: '2026-01-01T00:00:00.000Z' } },
      });
      ssm.on(ListCommandsCommand).resolves({
        Commands: [
          { CommandId: 'cmd-other', Comment: 'deployctl wave 2 batch 2/3 another-deployment' },
          { CommandId: 'cmd-b', Comment: `deployctl wave 2 batch 2/3 ${DEPLOYMENT_ID}` },
        ],
      });

      const result = await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-2', phase: 'deploy' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-a', 'cmd-b', 'cmd-1'] });
      expect(ssm).toReceiveCommandExactlyOnceWith(ListCommandsCommand, {
        InstanceId: fleet[50],
        Filters: [
          { key: 'InvokedAfter', value: '2025-12-31T23:55:00.000Z' },
          { key: 'DocumentName', value: DEPLOY_DOCUMENT },
        ],
      });
      expect(ssm).toReceiveCommandExactlyOnceWith(SendCommandCommand, { InstanceIds: fleet.slice(100) });
    });

    it('sends the batch again when SSM has no command for the recorded intent (the attempt died before SendCommand)', async () => {
      db.on(GetCommand, { Key: keys.wave(DEPLOYMENT_ID, 1) }).resolves({
        Item: { ...keys.wave(DEPLOYMENT_ID, 1), commandIds: ['cmd-a'], sending: { batch: 1, at: '2026-01-01T00:00:00.000Z' } },
      });
      ssm.on(ListCommandsCommand).resolves({ Commands: [] });

      const result = await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-2', phase: 'deploy' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-a', 'cmd-1', 'cmd-2'] });
      expect(ssm).toReceiveCommandTimes(SendCommandCommand, 2);
    });

    it('sends nothing on a retry after every chunk was sent, and wakes the execution itself when all had finished', async () => {
      givenWave(db, 1, hosts(50), ['cmd-a']);
      db.on(UpdateCommand, { UpdateExpression: 'SET allSent = :yes, tokenAt = :at' }).resolves({
        Attributes: { allSent: true, commandIds: ['cmd-a'], completedCommands: new Set(['cmd-a']) },
      });

      const result = await handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-3', phase: 'deploy' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-a'] });
      expect(ssm).toReceiveCommandTimes(SendCommandCommand, 0);
      expect(sfn).toReceiveCommandExactlyOnceWith(SendTaskSuccessCommand, {
        taskToken: 'token-3',
        output: JSON.stringify({ commandIds: ['cmd-a'], settled: true }),
      });
    });

    it('keeps the commands sent before SSM refused one, so a retry does not send them again', async () => {
      ssm.reset();
      ssm
        .on(SendCommandCommand)
        .resolvesOnce({ Command: { CommandId: 'cmd-1' } })
        .rejectsOnce(new Error('ThrottlingException'));

      await expect(
        handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext),
      ).rejects.toThrow('ThrottlingException');
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.wave(DEPLOYMENT_ID, 1),
        ExpressionAttributeValues: expect.objectContaining({ ':one': ['cmd-1'] }),
      });
      expect(db).toReceiveCommandTimes(BatchWriteCommand, 0);
    });

    it('fails before storing any token when SSM refuses a command', async () => {
      ssm.reset();
      ssm.on(SendCommandCommand).rejects(new Error('InvalidInstanceId'));

      await expect(
        handler({ state: stateOf({ wave: 1, waveCount: 2 }), taskToken: 'token-1', phase: 'deploy' }, lambdaContext),
      ).rejects.toThrow('InvalidInstanceId');
      expect(db).toReceiveCommandTimes(BatchWriteCommand, 0);
    });
  });

  describe('in the rollback phase', () => {
    it('refuses with RollbackUnavailable and sends nothing when the spec has no previous version', async () => {
      givenDeployment(db, specOf());
      givenWave(db, 0, hosts(3), ['cmd-0']);

      const error = await handler(
        { state: stateOf({ wave: 1, waveCount: 1 }), taskToken: 'token-1', phase: 'rollback' },
        lambdaContext,
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RollbackUnavailable);
      expect(error).toMatchObject({ name: 'RollbackUnavailable', message: expect.stringContaining('no rollback possible for web/prod') });
      expect(ssm).toReceiveCommandTimes(SendCommandCommand, 0);
    });

    it('rolls back only the hosts of waves that were commanded, to the previous version', async () => {
      givenDeployment(db, specOf({ previousVersion: '1.2.2' }));
      givenWave(db, 0, hosts(2), ['cmd-0']);
      givenWave(db, 1, hosts(3, 10), ['cmd-00']);
      givenWave(db, 2, hosts(4, 20));

      const result = await handler({ state: stateOf({ wave: 2, waveCount: 3 }), taskToken: 'token-9', phase: 'rollback' }, lambdaContext);

      expect(result).toEqual({ commandIds: ['cmd-1'] });
      expect(ssm).toReceiveCommandExactlyOnceWith(SendCommandCommand, {
        InstanceIds: [...hosts(2), ...hosts(3, 10)],
        DocumentName: DEPLOY_DOCUMENT,
        Parameters: { app: ['web'], environment: ['prod'], version: ['1.2.2'], action: ['rollback'] },
        Comment: 'deployctl rollback batch 1/1 dep-1',
      });
      const items = batchWrittenItems(db);
      expect(items).toContainEqual(expect.objectContaining({ ...keys.wave(DEPLOYMENT_ID, ROLLBACK_WAVE), hosts: 5, status: 'PLANNED' }));
      expect(commandTokenItems(db)).toEqual([expect.objectContaining({ ...keys.command('cmd-1'), token: 'token-9', wave: ROLLBACK_WAVE })]);
      const detail = JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
      expect(detail).toMatchObject({ status: 'ROLLING_BACK', wave: ROLLBACK_WAVE });
    });

    it('wakes the execution at once when no host was commanded yet: there is nothing to roll back', async () => {
      givenDeployment(db, specOf({ previousVersion: '1.2.2' }));
      givenWave(db, 0, hosts(2));

      const result = await handler({ state: stateOf({ wave: 0, waveCount: 1 }), taskToken: 'token-4', phase: 'rollback' }, lambdaContext);

      expect(result).toEqual({ commandIds: [] });
      expect(ssm).toReceiveCommandTimes(SendCommandCommand, 0);
      expect(sfn).toReceiveCommandExactlyOnceWith(SendTaskSuccessCommand, { taskToken: 'token-4' });
    });
  });

  it('refuses an event without a task token before touching anything', async () => {
    await expect(handler({ state: stateOf(), taskToken: '', phase: 'deploy' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    expect(db.calls()).toHaveLength(0);
  });
});
