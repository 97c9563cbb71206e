import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlanRefused } from '#core/errors.ts';
import { keys } from '#core/records.ts';
import { createPlanWaves } from '#handlers/plan-waves.ts';
import { acceptWrites, awsTestDeps, batchWrittenItems, givenDeployment } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, hosts, lambdaContext, specOf, stateOf } from '#test/support/fixtures.ts';

describe('plan-waves', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ssm = mockClient(SSMClient);
  const handler = createPlanWaves(awsTestDeps());

  beforeEach(() => {
    db.reset();
    ssm.reset();
    acceptWrites(db);
  });

  it('resolves the tag targets, stores each wave and returns only the counts', async () => {
    givenDeployment(db, specOf({ strategy: { type: 'rolling', batchSize: '25%' } }));
    const fleet = hosts(10);
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [...fleet].reverse().map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })),
    });

    const state = await handler(stateOf({ waveCount: 0 }), lambdaContext);

    expect(state).toMatchObject({ waveCount: 4, hostCount: 10 });
    expect(ssm).toReceiveCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: 'tag:Role', Values: ['web'] }] });
    expect(db).toReceiveCommandTimes(BatchWriteCommand, 4);
    const chunks = batchWrittenItems(db).filter((item) => String(item.sk).includes('#HOSTS#'));
    expect(chunks.map((item) => item.instanceIds)).toEqual([fleet.slice(0, 3), fleet.slice(3, 6), fleet.slice(6, 9), fleet.slice(9)]);
    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.meta(DEPLOYMENT_ID),
      ExpressionAttributeNames: { '#f0': 'waveCount', '#f1': 'hostCount', '#f2': 'succeeded', '#f3': 'failed', '#f4': 'updatedAt' },
      ExpressionAttributeValues: { ':v0': 4, ':v1': 10, ':v2': 0, ':v3': 0, ':v4': '2026-01-01T00:00:00.000Z' },
    });
  });

  it('refuses a target that matches no hosts and stores nothing', async () => {
    givenDeployment(db, specOf());
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });

    await expect(handler(stateOf(), lambdaContext)).rejects.toThrow(PlanRefused);
    expect(db).toReceiveCommandTimes(BatchWriteCommand, 0);
  });
});
