import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { keys } from '#core/records.ts';
import { createFinalizeFanOut } from '#handlers/finalize-fan-out.ts';
import { acceptWrites, auditEvents, awsTestDeps } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, lambdaContext, metaItem, specOf } from '#test/support/fixtures.ts';

describe('finalize-fan-out', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createFinalizeFanOut(awsTestDeps());
  const spec = specOf({ regions: ['us-east-1', 'eu-west-1'] });
  const state = {
    deploymentId: DEPLOYMENT_ID,
    regionWave: 2,
    regionWaveCount: 2,
    waveRegions: [],
    regionBakeSeconds: 0,
    regionTimeoutSeconds: 600,
    onRegionFailure: 'stop',
    outcome: 'FAILED',
    reason: 'region eu-west-1 ROLLED_BACK',
  };
  const regions = {
    'us-east-1': { wave: 0, status: 'SUCCEEDED', hosts: 4, succeeded: 4, failed: 0 },
    'eu-west-1': { wave: 1, status: 'ROLLED_BACK', hosts: 6, succeeded: 5, failed: 1 },
  };

  beforeEach(() => {
    db.reset();
    eventbridge.reset();
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({ Item: metaItem(spec, 'RUNNING', { regions }) });
    db.on(UpdateCommand, {
      Key: keys.meta(DEPLOYMENT_ID),
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(endedAt) OR #status = :status)',
    }).resolves({
      Attributes: metaItem(spec, 'FAILED', { regions, endedAt: '2026-01-01T00:00:00.000Z' }),
    });
  });

  it('records the terminal status with the counts over every region, and announces it once', async () => {
    await expect(handler(state, lambdaContext)).resolves.toMatchObject({ status: 'FAILED' });

    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.meta(DEPLOYMENT_ID),
      ExpressionAttributeValues: expect.objectContaining({ ':v0': 10 }),
    });
    expect(auditEvents(db)).toEqual([expect.objectContaining({ type: 'DeploymentFinished', status: 'FAILED' })]);
    const detail = JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({ status: 'FAILED', hosts: 10, failed: 1, reason: 'region eu-west-1 ROLLED_BACK' });
  });

  it('announces nothing again when a retry finds the close already written', async () => {
    db.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({ message: 'x', $metadata: {}, CancellationReasons: [{ Code: 'ConditionalCheckFailed' }] }),
    );

    await expect(handler(state, lambdaContext)).resolves.toMatchObject({ status: 'FAILED' });

    expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 0);
  });
});
