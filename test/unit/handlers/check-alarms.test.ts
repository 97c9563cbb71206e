import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlarmFiring } from '#core/errors.ts';
import { createCheckAlarms } from '#handlers/check-alarms.ts';
import { acceptWrites, awsTestDeps, givenDeployment } from '#test/support/aws-mocks.ts';
import { lambdaContext, specOf, stateOf } from '#test/support/fixtures.ts';

describe('check-alarms', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const handler = createCheckAlarms(awsTestDeps());
  /** After the first wave: the next wave to run is wave 1. */
  const state = stateOf({ wave: 1, waveCount: 3, hostCount: 30, succeeded: 10 });

  beforeEach(() => {
    db.reset();
    cloudwatch.reset();
    acceptWrites(db);
    givenDeployment(db, specOf({ gates: { alarms: { names: ['HighErrors', 'Latency'] } } }));
  });

  it('describes the alarms the spec names and passes the state on when none is in ALARM', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'HighErrors', StateValue: 'OK' },
        { AlarmName: 'Latency', StateValue: 'INSUFFICIENT_DATA' },
      ],
    });

    await expect(handler(state, lambdaContext)).resolves.toEqual(state);
    expect(cloudwatch).toReceiveCommandExactlyOnceWith(DescribeAlarmsCommand, {
      AlarmNames: ['HighErrors', 'Latency'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
    expect(db).toReceiveCommandWith(PutCommand, {
      Item: expect.objectContaining({ type: 'AlarmGate', wave: 0, alarms: 2, firing: [] }),
    });
  });

  it('throws AlarmFiring naming the alarm and its reason when one is in ALARM', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'HighErrors', StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [12.0] > 5.0' },
        { AlarmName: 'Latency', StateValue: 'OK' },
      ],
    });

    const error = await handler(state, lambdaContext).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AlarmFiring);
    expect(error).toMatchObject({
      name: 'AlarmFiring',
      message: 'after wave 1: HighErrors in ALARM (Threshold Crossed: 1 datapoint [12.0] > 5.0)',
    });
    expect(db).toReceiveCommandWith(PutCommand, { Item: expect.objectContaining({ type: 'AlarmGate', firing: ['HighErrors'] }) });
  });

  it('passes the state on without asking CloudWatch when the spec names no alarms', async () => {
    givenDeployment(db, specOf());

    await expect(handler(state, lambdaContext)).resolves.toEqual(state);
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
    expect(db).toReceiveCommandTimes(PutCommand, 0);
  });
});
