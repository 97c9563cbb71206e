import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchAlarms } from '../../lambdas/adapters/aws/cloudwatch.ts';

describe('CloudWatchAlarms', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  const alarms = new CloudWatchAlarms(new CloudWatchClient({}));

  beforeEach(() => {
    cloudwatch.reset();
  });

  it('describes metric and composite alarms by name', async () => {
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'HighErrors', StateValue: 'ALARM', StateReason: 'Threshold Crossed' }],
      CompositeAlarms: [{ AlarmName: 'ServiceHealth', StateValue: 'OK' }],
    });

    const states = await alarms.describe({ names: ['HighErrors', 'ServiceHealth'] });

    expect(states).toEqual([
      { name: 'HighErrors', state: 'ALARM', reason: 'Threshold Crossed' },
      { name: 'ServiceHealth', state: 'OK' },
    ]);
    expect(cloudwatch).toReceiveCommandExactlyOnceWith(DescribeAlarmsCommand, {
      AlarmNames: ['HighErrors', 'ServiceHealth'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('describes alarms by prefix across every page', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'web-latency', StateValue: 'OK' }], NextToken: 'page-2' })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'web-errors' }] });

    const states = await alarms.describe({ prefix: 'web-' });

    expect(states).toEqual([
      { name: 'web-latency', state: 'OK' },
      { name: 'web-errors', state: 'INSUFFICIENT_DATA' },
    ]);
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 2);
    expect(cloudwatch).toReceiveNthCommandWith(DescribeAlarmsCommand, 1, { AlarmNamePrefix: 'web-', NextToken: undefined });
    expect(cloudwatch).toReceiveNthCommandWith(DescribeAlarmsCommand, 2, { AlarmNamePrefix: 'web-', NextToken: 'page-2' });
  });

  it('makes no call when neither names nor a prefix are given', async () => {
    expect(await alarms.describe({ names: [] })).toEqual([]);
    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
  });
});
