import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeInstanceInformationCommand, type InstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../lambdas/core/records.ts';
import { createRunPreChecks, PreCheckFailed } from '../../lambdas/handlers/run-pre-checks.ts';
import { host, hosts, lambdaContext, specOf, stateOf } from './fixtures.ts';
import { acceptWrites, awsTestDeps, givenDeployment, givenWave } from './support.ts';

describe('run-pre-checks', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ssm = mockClient(SSMClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const handler = createRunPreChecks(awsTestDeps());
  const state = stateOf({ waveCount: 2, hostCount: 5 });

  function online(...ids: string[]): { InstanceInformationList: InstanceInformation[] } {
    return { InstanceInformationList: ids.map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) };
  }

  beforeEach(() => {
    db.reset();
    ssm.reset();
    cloudwatch.reset();
    acceptWrites(db);
    givenDeployment(db, specOf());
    givenWave(db, 0, hosts(2));
    givenWave(db, 1, hosts(3, 2));
    ssm.on(DescribeInstanceInformationCommand).resolves(online(...hosts(5)));
    cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'HighErrors', StateValue: 'OK' }] });
  });

  it('passes when every host of every wave is online, and records the check', async () => {
    await expect(handler(state, lambdaContext)).resolves.toEqual(state);

    expect(ssm).toReceiveCommandExactlyOnceWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: hosts(5) }],
    });
    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.meta(state.deploymentId),
      ExpressionAttributeValues: {
        ':v0': [{ name: 'hosts online', passed: true, reason: 'all 5 hosts online in SSM' }],
        ':v1': '2026-01-01T00:00:00.000Z',
      },
    });
  });

  it('fails with PreCheckFailed naming a host that is not online', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        ...online(host(0), host(1), host(2), host(4)).InstanceInformationList,
        { InstanceId: host(3), PingStatus: 'ConnectionLost' },
      ],
    });

    const error = await handler(state, lambdaContext).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreCheckFailed);
    expect(error).toMatchObject({ name: 'PreCheckFailed', message: `hosts online: 1 of 5 hosts not online in SSM: ${host(3)}` });
    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.meta(state.deploymentId),
      ExpressionAttributeValues: expect.objectContaining({
        ':v0': [{ name: 'hosts online', passed: false, reason: expect.stringContaining(host(3)) }],
      }),
    });
  });

  it('counts a host SSM does not know at all as not online', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves(online(...hosts(4)));

    await expect(handler(state, lambdaContext)).rejects.toThrow(`1 of 5 hosts not online in SSM: ${host(4)}`);
  });

  it('lists ten offline hosts and counts the rest', async () => {
    const fleet = hosts(12);
    givenWave(db, 0, fleet);
    givenWave(db, 1, []);
    ssm.on(DescribeInstanceInformationCommand).resolves({});

    await expect(handler(state, lambdaContext)).rejects.toThrow(
      `12 of 12 hosts not online in SSM: ${fleet.slice(0, 10).join(', ')} and 2 more`,
    );
  });

  it('fails with PreCheckFailed when one of the spec alarms is already in ALARM', async () => {
    givenDeployment(db, specOf({ gates: { alarms: { names: ['HighErrors', 'Latency'] } } }));
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'HighErrors', StateValue: 'ALARM' },
        { AlarmName: 'Latency', StateValue: 'OK' },
      ],
    });

    await expect(handler(state, lambdaContext)).rejects.toThrow(new PreCheckFailed('alarms quiet: already in ALARM: HighErrors'));
    expect(cloudwatch).toReceiveCommandWith(DescribeAlarmsCommand, { AlarmNames: ['HighErrors', 'Latency'] });
  });

  it('passes the alarm check when the spec alarms are quiet', async () => {
    givenDeployment(db, specOf({ gates: { alarms: { prefix: 'web-' } } }));

    await expect(handler(state, lambdaContext)).resolves.toEqual(state);
    expect(cloudwatch).toReceiveCommandWith(DescribeAlarmsCommand, { AlarmNamePrefix: 'web-' });
  });

  it('does not look at alarms when the spec names none', async () => {
    await handler(state, lambdaContext);

    expect(cloudwatch).toReceiveCommandTimes(DescribeAlarmsCommand, 0);
  });

  it('fails with PreCheckFailed outside the maintenance window', async () => {
    // The clock says Thursday 2026-01-01 00:00 UTC; the window is Saturday nights in Berlin.
    givenDeployment(db, specOf({ window: { cron: '0 2 * * 6', durationMinutes: 120, timezone: 'Europe/Berlin' } }));

    await expect(handler(state, lambdaContext)).rejects.toThrow(
      /^maintenance window: outside the maintenance window \(0 2 \* \* 6 Europe\/Berlin, 120 min\); next opening 2026-01-03T01:00:00.000Z$/,
    );
  });

  it('passes inside the maintenance window', async () => {
    givenDeployment(db, specOf({ window: { cron: '0 0 * * 4', durationMinutes: 60 } }));

    await expect(handler(state, lambdaContext)).resolves.toEqual(state);
  });

  it('reports every failed check at once', async () => {
    givenDeployment(db, specOf({ gates: { alarms: { names: ['HighErrors'] } } }));
    ssm.on(DescribeInstanceInformationCommand).resolves(online(...hosts(4)));
    cloudwatch.on(DescribeAlarmsCommand).resolves({ CompositeAlarms: [{ AlarmName: 'HighErrors', StateValue: 'ALARM' }] });

    await expect(handler(state, lambdaContext)).rejects.toThrow(
      `hosts online: 1 of 5 hosts not online in SSM: ${host(4)}; alarms quiet: already in ALARM: HighErrors`,
    );
  });
});
