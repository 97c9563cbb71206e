import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeInstanceInformationCommand, type InstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PreCheckFailed } from '#core/errors.ts';
import { keys } from '#core/records.ts';
import { createRunPreChecks } from '#handlers/run-pre-checks.ts';
import { acceptWrites, awsTestDeps, givenDeployment, givenWave } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, host, hosts, lambdaContext, metaItem, specOf, stateOf } from '#test/support/fixtures.ts';

describe('run-pre-checks', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ssm = mockClient(SSMClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createRunPreChecks(awsTestDeps());
  const state = stateOf({ waveCount: 2, hostCount: 5 });

  function online(...ids: string[]): { InstanceInformationList: InstanceInformation[] } {
    return { InstanceInformationList: ids.map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) };
  }

  beforeEach(() => {
    db.reset();
    ssm.reset();
    cloudwatch.reset();
    eventbridge.reset();
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
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

  describe('when the window is closed and the spec says to wait', () => {
    // The clock says 2026-01-01 00:00 UTC; the deployment started an hour before, so it may wait until 19:00.
    const dawn = { cron: '0 6 * * *', durationMinutes: 60, timezone: 'UTC', outside: 'wait' } as const;

    it('puts the next opening in the state, records the wait and checks nothing yet', async () => {
      givenDeployment(db, specOf({ window: dawn }));

      await expect(handler(state, lambdaContext)).resolves.toEqual({ ...state, windowOpensAt: '2026-01-01T06:00:00Z' });

      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(state.deploymentId),
        ExpressionAttributeNames: { '#f0': 'windowOpensAt', '#f1': 'updatedAt' },
        ExpressionAttributeValues: { ':v0': '2026-01-01T06:00:00Z', ':v1': '2026-01-01T00:00:00.000Z' },
      });
      expect(db).toReceiveCommandWith(PutCommand, {
        Item: expect.objectContaining({
          type: 'WaitingForWindow',
          actor: 'deployctl',
          opensAt: '2026-01-01T06:00:00Z',
          reason: 'outside the maintenance window (0 6 * * * UTC, 60 min); next opening 2026-01-01T06:00:00.000Z',
        }),
      });
      expect(JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}')).toEqual({
        deploymentId: DEPLOYMENT_ID,
        app: 'web',
        environment: 'prod',
        status: 'WAITING_FOR_WINDOW',
        opensAt: '2026-01-01T06:00:00Z',
      });
      expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 0);
    });

    it('runs every check once the window is open after the wait, and clears the wait from the record', async () => {
      givenDeployment(db, specOf({ window: { ...dawn, cron: '0 0 * * *' } }));

      await expect(handler({ ...state, windowOpensAt: '2026-01-01T00:00:00Z' }, lambdaContext)).resolves.toEqual(state);

      expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 1);
      expect(db).toReceiveCommandWith(UpdateCommand, {
        ExpressionAttributeNames: { '#f0': 'checks', '#f1': 'windowOpensAt', '#f2': 'updatedAt' },
        ExpressionAttributeValues: expect.objectContaining({
          ':v0': [
            { name: 'hosts online', passed: true, reason: 'all 5 hosts online in SSM' },
            { name: 'maintenance window', passed: true, reason: expect.stringMatching(/^window opened 2026-01-01T00:00:00.000Z/) },
          ],
          ':v1': null,
        }),
      });
    });

    it('waits again when the window is still closed after the wait', async () => {
      givenDeployment(db, specOf({ window: dawn }));

      await expect(handler({ ...state, windowOpensAt: '2025-12-31T23:59:59Z' }, lambdaContext)).resolves.toEqual({
        ...state,
        windowOpensAt: '2026-01-01T06:00:00Z',
      });
    });

    it('fails with PreCheckFailed when the next opening is later than the deployment may wait', async () => {
      givenDeployment(db, specOf({ window: { ...dawn, cron: '0 2 * * 6' } }));

      await expect(handler(state, lambdaContext)).rejects.toThrow(
        new PreCheckFailed(
          'maintenance window: outside the maintenance window (0 2 * * 6 UTC, 60 min); next opening 2026-01-03T02:00:00.000Z; ' +
            'that is later than this deployment may wait (until 2026-01-01T19:00:00.000Z)',
        ),
      );
      expect(db).toReceiveCommandTimes(PutCommand, 1);
      expect(db).toReceiveCommandWith(PutCommand, { Item: expect.objectContaining({ type: 'PreChecks' }) });
    });

    it('fails with PreCheckFailed when the window has no opening ahead to wait for', async () => {
      givenDeployment(db, specOf({ window: { ...dawn, cron: '0 0 30 2 *' } }));

      await expect(handler(state, lambdaContext)).rejects.toThrow(
        new PreCheckFailed(
          'maintenance window: outside the maintenance window (0 0 30 2 * UTC, 60 min); the window has no opening ahead, so there is nothing to wait for',
        ),
      );
    });

    it('leaves an abort requested during the wait to the controls check, checking nothing and waiting no more', async () => {
      const control = { action: 'ABORT', by: 'erin', at: '2026-01-01T00:00:00.000Z' };
      db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
        Item: metaItem(specOf({ window: dawn }), 'RUNNING', { control, windowOpensAt: '2025-12-31T23:59:59Z' }),
      });

      await expect(handler({ ...state, windowOpensAt: '2025-12-31T23:59:59Z' }, lambdaContext)).resolves.toEqual(state);

      expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 0);
      expect(db).toReceiveCommandTimes(PutCommand, 0);
      expect(db).toReceiveCommandWith(UpdateCommand, { ExpressionAttributeValues: expect.objectContaining({ ':v0': null }) });
    });
  });
});
