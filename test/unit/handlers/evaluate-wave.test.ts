import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type CommandInvocationStatus, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, ROLLBACK_WAVE } from '#core/records.ts';
import { createEvaluateWave } from '#handlers/evaluate-wave.ts';
import { acceptWrites, awsTestDeps, batchWrittenItems, givenDeployment, givenWave } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, host, hosts, lambdaContext, specOf, stateOf } from '#test/support/fixtures.ts';

describe('evaluate-wave', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ssm = mockClient(SSMClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createEvaluateWave(awsTestDeps());

  function invocations(commandId: string, statuses: Record<string, CommandInvocationStatus>) {
    ssm.on(ListCommandInvocationsCommand, { CommandId: commandId }).resolves({
      CommandInvocations: Object.entries(statuses).map(([InstanceId, Status]) => ({ InstanceId, Status, StatusDetails: Status })),
    });
  }

  beforeEach(() => {
    db.reset();
    ssm.reset();
    eventbridge.reset();
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    acceptWrites(db);
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
  });

  describe('in the deploy phase', () => {
    const state = stateOf({ wave: 0, waveCount: 2, hostCount: 8 });

    beforeEach(() => {
      givenDeployment(db, specOf());
      givenWave(db, 0, hosts(4), ['cmd-1']);
      invocations('cmd-1', { [host(0)]: 'Success', [host(1)]: 'Failed', [host(2)]: 'InProgress' });
    });

    it('announces the completed wave with its hosts and failures', async () => {
      await handler({ state, phase: 'deploy' }, lambdaContext);

      const detail = JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
      expect(detail).toEqual({
        deploymentId: DEPLOYMENT_ID,
        app: 'web',
        environment: 'prod',
        status: 'WAVE_COMPLETED',
        wave: 0,
        hosts: 4,
        failed: 3,
      });
    });

    it('counts a host with no invocation as Undeliverable and a host still in progress as NoResult', async () => {
      await handler({ state, phase: 'deploy' }, lambdaContext);

      expect(batchWrittenItems(db)).toEqual([
        expect.objectContaining({ sk: `HOST#${host(0)}`, status: 'Success', statusDetails: 'Success', commandId: 'cmd-1' }),
        expect.objectContaining({ sk: `HOST#${host(1)}`, status: 'Failed', statusDetails: 'Failed', commandId: 'cmd-1' }),
        expect.objectContaining({
          sk: `HOST#${host(2)}`,
          status: 'NoResult',
          statusDetails: 'still InProgress when the wait ended',
          commandId: 'cmd-1',
        }),
        expect.objectContaining({
          sk: `HOST#${host(3)}`,
          status: 'Undeliverable',
          statusDetails: 'SSM reported no invocation for this host',
          commandId: '',
        }),
      ]);
    });

    it('writes every host result with its wave, phase and version through BatchWriteItem', async () => {
      await handler({ state, phase: 'deploy' }, lambdaContext);

      expect(db).toReceiveCommandTimes(BatchWriteCommand, 1);
      expect(batchWrittenItems(db)[0]).toEqual({
        ...keys.host(DEPLOYMENT_ID, host(0)),
        instanceId: host(0),
        wave: 0,
        phase: 'deploy',
        status: 'Success',
        statusDetails: 'Success',
        commandId: 'cmd-1',
        version: '1.2.3',
        updatedAt: '2026-01-01T00:00:00.000Z',
      });
    });

    it('gives the verdict failed when the failures exceed maxErrors', async () => {
      const next = await handler({ state, phase: 'deploy' }, lambdaContext);

      expect(next).toEqual({
        ...state,
        wave: 1,
        succeeded: 1,
        failed: 3,
        verdict: 'failed',
        reason: 'wave 1: 3 of 8 hosts failed, more than maxErrors allows (0)',
      });
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.wave(DEPLOYMENT_ID, 0),
        ExpressionAttributeValues: { ':done': 'DONE', ':s': 1, ':f': 3, ':at': '2026-01-01T00:00:00.000Z' },
      });
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ExpressionAttributeNames: { '#f0': 'succeeded', '#f1': 'failed', '#f2': 'updatedAt' },
        ExpressionAttributeValues: { ':v0': 1, ':v1': 3, ':v2': '2026-01-01T00:00:00.000Z' },
      });
    });

    it('continues to the next wave when the failures stay within maxErrors', async () => {
      givenDeployment(db, specOf({ strategy: { type: 'rolling', maxErrors: '50%' } }));

      const next = await handler({ state, phase: 'deploy' }, lambdaContext);

      expect(next).toMatchObject({ wave: 1, succeeded: 1, failed: 3, verdict: 'continue' });
      expect(next.reason).toBeUndefined();
    });

    it('counts failures of earlier waves against the budget', async () => {
      givenDeployment(db, specOf({ strategy: { type: 'rolling', maxErrors: 3 } }));

      const next = await handler({ state: { ...state, succeeded: 3, failed: 1 }, phase: 'deploy' }, lambdaContext);

      expect(next).toMatchObject({
        succeeded: 4,
        failed: 4,
        verdict: 'failed',
        reason: 'wave 1: 4 of 8 hosts failed, more than maxErrors allows (3)',
      });
    });

    it('reads the invocations of every command of the wave', async () => {
      givenWave(db, 0, hosts(4), ['cmd-1', 'cmd-2']);
      invocations('cmd-2', { [host(2)]: 'Success', [host(3)]: 'Success' });
      givenDeployment(db, specOf({ strategy: { type: 'rolling', maxErrors: 1 } }));

      const next = await handler({ state, phase: 'deploy' }, lambdaContext);

      expect(ssm).toReceiveCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-1' });
      expect(ssm).toReceiveCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-2' });
      expect(next).toMatchObject({ succeeded: 3, failed: 1, verdict: 'continue' });
      expect(batchWrittenItems(db).map((item) => [item.instanceId, item.status, item.commandId])).toEqual([
        [host(0), 'Success', 'cmd-1'],
        [host(1), 'Failed', 'cmd-1'],
        [host(2), 'Success', 'cmd-2'],
        [host(3), 'Success', 'cmd-2'],
      ]);
    });
  });

  describe('in the rollback phase', () => {
    const state = stateOf({ wave: 1, waveCount: 2, hostCount: 4, succeeded: 2, failed: 2, reason: 'wave 1: 2 of 4 hosts failed' });

    beforeEach(() => {
      givenDeployment(db, specOf({ previousVersion: '1.2.2' }));
      givenWave(db, ROLLBACK_WAVE, hosts(2), ['cmd-r']);
    });

    it('records the rollback results apart from the deploy results, with the version rolled back to', async () => {
      invocations('cmd-r', { [host(0)]: 'Success', [host(1)]: 'Success' });

      const next = await handler({ state, phase: 'rollback' }, lambdaContext);

      expect(next).toMatchObject({ outcome: 'ROLLED_BACK', reason: 'wave 1: 2 of 4 hosts failed; rolled back 2 hosts to 1.2.2' });
      expect(batchWrittenItems(db)).toEqual([
        expect.objectContaining({
          sk: `HOST#${host(0)}#ROLLBACK`,
          phase: 'rollback',
          wave: ROLLBACK_WAVE,
          version: '1.2.2',
          status: 'Success',
        }),
        expect.objectContaining({
          sk: `HOST#${host(1)}#ROLLBACK`,
          phase: 'rollback',
          wave: ROLLBACK_WAVE,
          version: '1.2.2',
          status: 'Success',
        }),
      ]);
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ExpressionAttributeNames: { '#f0': 'rolledBack', '#f1': 'updatedAt' },
        ExpressionAttributeValues: { ':v0': 2, ':v1': '2026-01-01T00:00:00.000Z' },
      });
    });

    it('ends FAILED when the rollback fails on any host', async () => {
      invocations('cmd-r', { [host(0)]: 'Success', [host(1)]: 'TimedOut' });

      const next = await handler({ state, phase: 'rollback' }, lambdaContext);

      expect(next).toMatchObject({ outcome: 'FAILED', reason: 'wave 1: 2 of 4 hosts failed; rollback failed on 1 of 2 hosts' });
    });
  });
});
