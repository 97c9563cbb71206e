import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DeploymentExists, InvalidSpec, LockHeld } from '#core/errors.ts';
import { LOCK_TTL_SECONDS } from '#core/limits.ts';
import { keys } from '#core/records.ts';
import { createValidateSpec } from '#handlers/validate-spec.ts';
import { acceptWrites, auditEvents, awsTestDeps } from '#test/support/aws-mocks.ts';
import { lambdaContext, minimalSpecInput, NOW_EPOCH_SECONDS } from '#test/support/fixtures.ts';

const lockKey = keys.lock('web', 'prod');

describe('validate-spec', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createValidateSpec(awsTestDeps());

  beforeEach(() => {
    db.reset();
    eventbridge.reset();
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  it('records the deployment with a conditional put of its META record', async () => {
    await handler({ spec: { ...minimalSpecInput, previousVersion: '1.2.2' }, executionName: 'exec-1' }, lambdaContext);

    expect(db).toReceiveCommandWith(PutCommand, {
      Item: expect.objectContaining({
        pk: 'DEPLOY#exec-1',
        sk: 'META',
        deploymentId: 'exec-1',
        status: 'PENDING',
        executionName: 'exec-1',
        spec: expect.objectContaining({ app: 'web', version: '1.2.3', previousVersion: '1.2.2', deploymentId: 'exec-1' }),
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('takes the app and environment lock with a conditional put for a day', async () => {
    await handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext);

    expect(db).toReceiveCommandWith(PutCommand, {
      Item: { ...lockKey, holder: 'exec-1', acquiredAt: '2026-01-01T00:00:00.000Z', expiresAt: NOW_EPOCH_SECONDS + LOCK_TTL_SECONDS },
      ConditionExpression: 'attribute_not_exists(pk) OR holder = :me OR expiresAt < :now',
      ExpressionAttributeValues: { ':me': 'exec-1', ':now': NOW_EPOCH_SECONDS },
    });
  });

  it('marks the deployment running, announces it and returns the initial state', async () => {
    const spec = {
      ...minimalSpecInput,
      deploymentId: 'release-42',
      strategy: { type: 'rolling', pauseSeconds: 90 },
      gates: { bakeSeconds: 30 },
    };

    const state = await handler({ spec, executionName: 'exec-1' }, lambdaContext);

    expect(state).toEqual({
      deploymentId: 'release-42',
      app: 'web',
      environment: 'prod',
      wave: 0,
      waveCount: 0,
      hostCount: 0,
      succeeded: 0,
      failed: 0,
      bakeSeconds: 90,
      waitSeconds: 600 + 120,
      onFailure: 'rollback',
    });
    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.meta('release-42'),
      ExpressionAttributeValues: { ':v0': 'RUNNING', ':v1': '2026-01-01T00:00:00.000Z' },
    });
    expect(eventbridge).toReceiveCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: 'deployctl',
          DetailType: 'Deployment Status Change',
          Detail: JSON.stringify({ deploymentId: 'release-42', app: 'web', environment: 'prod', version: '1.2.3', status: 'STARTED' }),
        }),
      ],
    });
  });

  it('takes the previous version from the last successful release when the spec gives none', async () => {
    db.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'APP#web#prod' } }).resolves({
      Items: [
        { status: 'FAILED', version: '1.2.4' },
        { status: 'SUCCEEDED', version: '1.2.1' },
      ],
    });

    await handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext);

    expect(db).toReceiveCommandWith(PutCommand, {
      Item: expect.objectContaining({ sk: 'META', spec: expect.objectContaining({ previousVersion: '1.2.1' }) }),
    });
  });

  it('does not record a second request event when a retry finds the deployment recorded already', async () => {
    db.on(PutCommand, { Item: { sk: 'META' } }).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    db.on(GetCommand, { Key: keys.meta('exec-1') }).resolves({
      Item: { ...keys.meta('exec-1'), status: 'PENDING', executionName: 'exec-1' },
    });

    await handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext);

    expect(auditEvents(db).map((item) => item.type)).toEqual(['LockAcquired']);
  });

  it('refuses a deployment id that another execution used, leaving its record and the lock alone', async () => {
    db.on(PutCommand, { Item: { sk: 'META' } }).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
    db.on(GetCommand, { Key: keys.meta('release-42') }).resolves({
      Item: { ...keys.meta('release-42'), status: 'SUCCEEDED', executionName: 'exec-0' },
    });

    const error = await handler(
      { spec: { ...minimalSpecInput, deploymentId: 'release-42' }, executionName: 'exec-1' },
      lambdaContext,
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeploymentExists);
    expect(error).toMatchObject({ message: 'deployment release-42 already exists (SUCCEEDED, execution exec-0); give a new deploymentId' });
    expect(db).not.toReceiveCommandWith(PutCommand, { Item: lockKey });
    expect(db).toReceiveCommandTimes(UpdateCommand, 0);
  });

  it('gives the lock back when the start cannot be recorded after taking it', async () => {
    db.on(UpdateCommand, { Key: keys.meta('exec-1') }).rejects(new Error('InternalServerError'));

    await expect(handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext)).rejects.toThrow('InternalServerError');

    expect(db).toReceiveCommandWith(DeleteCommand, { Key: lockKey, ExpressionAttributeValues: { ':me': 'exec-1' } });
  });

  describe('when another deployment holds the lock', () => {
    beforeEach(() => {
      db.on(PutCommand, { Item: lockKey }).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));
      db.on(GetCommand, { Key: lockKey }).resolves({ Item: { ...lockKey, holder: 'exec-0' } });
    });

    it('rethrows LockHeld naming the holder', async () => {
      const error = await handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(LockHeld);
      expect(error).toMatchObject({ name: 'LockHeld', holder: 'exec-0' });
    });

    it('records the deployment as FAILED with the reason and starts nothing', async () => {
      await expect(handler({ spec: minimalSpecInput, executionName: 'exec-1' }, lambdaContext)).rejects.toThrow(LockHeld);

      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta('exec-1'),
        ExpressionAttributeValues: {
          ':status': 'FAILED',
          ':reason': 'web/prod is locked by deployment exec-0',
          ':at': '2026-01-01T00:00:00.000Z',
        },
      });
      expect(db).toReceiveCommandWith(PutCommand, { Item: expect.objectContaining({ type: 'LockRefused', holder: 'exec-0' }) });
      expect(db).not.toReceiveCommandWith(UpdateCommand, { ExpressionAttributeValues: expect.objectContaining({ ':v0': 'RUNNING' }) });
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 0);
    });
  });

  describe('with an invalid spec', () => {
    it('throws InvalidSpec naming the field and makes no DynamoDB call', async () => {
      const spec = { ...minimalSpecInput, version: '1.0; reboot', strategy: { type: 'rolling', batchSize: 0 } };

      const error = await handler({ spec, executionName: 'exec-1' }, lambdaContext).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidSpec);
      expect((error as InvalidSpec).fieldErrors.map((e) => e.field)).toEqual(['version', 'strategy.batchSize']);
      expect(db.calls()).toHaveLength(0);
      expect(eventbridge.calls()).toHaveLength(0);
    });

    it('refuses a blue-green spec on a Network Load Balancer listener with the reason, and makes no DynamoDB call', async () => {
      const spec = {
        ...minimalSpecInput,
        strategy: {
          type: 'blueGreen',
          blue: { tags: { color: 'blue' } },
          green: { tags: { color: 'green' } },
          listenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
          blueTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/73e2d6bc24d8a067',
          greenTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/73e2d6bc24d8a068',
        },
      };

      const error = await handler({ spec, executionName: 'exec-1' }, lambdaContext).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidSpec);
      expect((error as InvalidSpec).fieldErrors).toEqual([
        {
          field: 'strategy.listenerArn',
          message: expect.stringContaining('a Network Load Balancer listener (listener/net/...) cannot shift traffic'),
        },
      ]);
      expect(db.calls()).toHaveLength(0);
    });
  });
});
