import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchAlarms } from '#adapters/aws/cloudwatch.ts';
import { EventBridgeEvents } from '#adapters/aws/eventbridge.ts';
import { SfnCallbacks } from '#adapters/aws/sfn.ts';
import { EVENT_SOURCE } from '#core/events.ts';

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

describe('SfnCallbacks', () => {
  const sfn = mockClient(SFNClient);
  const callbacks = new SfnCallbacks(new SFNClient({}));

  beforeEach(() => {
    sfn.reset();
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
  });

  it('sends the task token with the output as JSON on success', async () => {
    await callbacks.succeed('token-1', { commandId: 'cmd-1', status: 'Success' });

    expect(sfn).toReceiveCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: '{"commandId":"cmd-1","status":"Success"}',
    });
  });

  it('sends the task token with the error and cause on failure', async () => {
    await callbacks.fail('token-1', 'CommandFailed', 'cmd-1 failed on 3 hosts');

    expect(sfn).toReceiveCommandExactlyOnceWith(SendTaskFailureCommand, {
      taskToken: 'token-1',
      error: 'CommandFailed',
      cause: 'cmd-1 failed on 3 hosts',
    });
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 0);
  });
});

describe('EventBridgeEvents', () => {
  const eventbridge = mockClient(EventBridgeClient);
  const events = new EventBridgeEvents(new EventBridgeClient({}), 'deployctl-bus');

  beforeEach(() => {
    eventbridge.reset();
  });

  it('puts one event from source deployctl on the configured bus with the detail as JSON', async () => {
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await events.put({
      detailType: 'Deployment Status Change',
      detail: { deploymentId: 'dep-1', app: 'web', environment: 'prod', status: 'SUCCEEDED' },
    });

    expect(EVENT_SOURCE).toBe('deployctl');
    expect(eventbridge).toReceiveCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'deployctl-bus',
          Source: 'deployctl',
          DetailType: 'Deployment Status Change',
          Detail: '{"deploymentId":"dep-1","app":"web","environment":"prod","status":"SUCCEEDED"}',
        },
      ],
    });
  });

  it('fails with the error code when EventBridge rejects the entry', async () => {
    eventbridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });

    const detail = { deploymentId: 'dep-1', app: 'web', environment: 'prod', status: 'STARTED' } as const;
    await expect(events.put({ detailType: 'Deployment Status Change', detail })).rejects.toThrow(
      'PutEvents failed: InternalFailure try again',
    );
  });
});
