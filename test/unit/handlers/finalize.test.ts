import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeploymentStatus } from '#core/records.ts';
import { keys } from '#core/records.ts';
import { createFinalize } from '#handlers/finalize.ts';
import { acceptWrites, auditEvents, awsTestDeps, givenDeployment } from '#test/support/aws-mocks.ts';
import { BUS, DEPLOYMENT_ID, lambdaContext, metaItem, specOf, stateOf } from '#test/support/fixtures.ts';

describe('finalize', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createFinalize(awsTestDeps());
  const spec = specOf({ previousVersion: '1.2.2' });

  /** finishDeployment answers with the record as DynamoDB stored it. */
  function finishedAs(status: DeploymentStatus) {
    db.on(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
      Attributes: metaItem(spec, status, { endedAt: '2026-01-01T00:00:00.000Z' }),
    });
  }

  function eventDetail() {
    return JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
  }

  beforeEach(() => {
    db.reset();
    eventbridge.reset();
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  describe('after a successful deployment', () => {
    const state = stateOf({ wave: 2, waveCount: 2, hostCount: 10, succeeded: 10 });

    beforeEach(() => finishedAs('SUCCEEDED'));

    it('sets the terminal status SUCCEEDED once', async () => {
      const result = await handler(state, lambdaContext);

      expect(result).toEqual({ ...state, status: 'SUCCEEDED' });
      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(endedAt) OR #status = :status)',
        ExpressionAttributeValues: { ':status': 'SUCCEEDED', ':reason': null, ':at': '2026-01-01T00:00:00.000Z' },
      });
    });

    it('releases the lock with a delete conditional on holding it', async () => {
      await handler(state, lambdaContext);

      expect(db).toReceiveCommandExactlyOnceWith(DeleteCommand, {
        Key: keys.lock('web', 'prod'),
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': DEPLOYMENT_ID },
      });
    });

    it('records the release in the history of the app and environment', async () => {
      await handler(state, lambdaContext);

      expect(db).toReceiveCommandWith(PutCommand, {
        Item: expect.objectContaining({ pk: 'APP#web#prod', version: '1.2.3', previousVersion: '1.2.2', status: 'SUCCEEDED' }),
      });
    });

    it('puts a Deployment Status Change event from deployctl', async () => {
      await handler(state, lambdaContext);

      expect(eventbridge).toReceiveCommandExactlyOnceWith(PutEventsCommand, {
        Entries: [expect.objectContaining({ EventBusName: BUS, Source: 'deployctl', DetailType: 'Deployment Status Change' })],
      });
      expect(eventDetail()).toEqual({
        deploymentId: DEPLOYMENT_ID,
        app: 'web',
        environment: 'prod',
        version: '1.2.3',
        status: 'SUCCEEDED',
        reason: null,
        hosts: 10,
        failed: 0,
      });
    });

    it('still finishes when another deployment holds the lock by now', async () => {
      db.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));

      await expect(handler(state, lambdaContext)).resolves.toMatchObject({ status: 'SUCCEEDED' });
      expect(auditEvents(db)).toContainEqual(expect.objectContaining({ type: 'DeploymentFinished', lockReleased: false }));
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 1);
    });
  });

  it('records FAILED with the reason read from a caught Lambda error', async () => {
    finishedAs('FAILED');
    const error = {
      Error: 'AlarmFiring',
      Cause: JSON.stringify({ errorType: 'AlarmFiring', errorMessage: 'after wave 1: HighErrors in ALARM' }),
    };

    const result = await handler(stateOf({ hostCount: 10, error }), lambdaContext);

    expect(result).toMatchObject({ status: 'FAILED', reason: 'AlarmFiring: after wave 1: HighErrors in ALARM' });
    expect(db).toReceiveCommandWith(UpdateCommand, {
      ExpressionAttributeValues: {
        ':status': 'FAILED',
        ':reason': 'AlarmFiring: after wave 1: HighErrors in ALARM',
        ':at': '2026-01-01T00:00:00.000Z',
      },
    });
    expect(eventDetail()).toMatchObject({ status: 'FAILED', reason: 'AlarmFiring: after wave 1: HighErrors in ALARM' });
  });

  it('records the outcome of a rollback with the reason the evaluation gave', async () => {
    finishedAs('ROLLED_BACK');

    const result = await handler(stateOf({ outcome: 'ROLLED_BACK', reason: 'rolled back 4 hosts to 1.2.2' }), lambdaContext);

    expect(result).toMatchObject({ status: 'ROLLED_BACK', reason: 'rolled back 4 hosts to 1.2.2' });
    expect(db).toReceiveCommandWith(UpdateCommand, { ExpressionAttributeValues: expect.objectContaining({ ':status': 'ROLLED_BACK' }) });
  });

  it('keeps the status recorded first when a later finalize reports a different outcome', async () => {
    db.on(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) }).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    givenDeployment(db, spec, 'ROLLED_BACK');

    const result = await handler(stateOf({ outcome: 'FAILED' }), lambdaContext);

    expect(result.status).toBe('ROLLED_BACK');
    expect(eventDetail()).toMatchObject({ status: 'ROLLED_BACK' });
    expect(db).toReceiveCommandWith(PutCommand, { Item: expect.objectContaining({ pk: 'APP#web#prod', status: 'ROLLED_BACK' }) });
  });
});
