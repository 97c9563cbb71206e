import {
  DescribeInstanceInformationCommand,
  GetCalendarStateCommand,
  InvalidDocument,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmChangeCalendars, SsmFleet, SsmInventory } from '#adapters/aws/ssm.ts';
import { CalendarUnavailable } from '#core/errors.ts';
import { host, hosts } from '#test/support/fixtures.ts';

describe('SSM adapters', () => {
  const ssm = mockClient(SSMClient);

  beforeEach(() => {
    ssm.reset();
  });

  describe('SsmFleet', () => {
    const fleet = new SsmFleet(new SSMClient({}));

    describe('send', () => {
      it('sends one SendCommand with the document, the hosts, the parameters and the timeout', async () => {
        ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });

        const commandId = await fleet.send({
          instanceIds: hosts(3),
          document: 'Deployctl-DeployApplication',
          parameters: { app: ['web'], version: ['1.2.3'] },
          timeoutSeconds: 900,
          comment: 'deployctl dep-1 deploy wave 1',
        });

        expect(commandId).toBe('cmd-1');
        expect(ssm).toReceiveCommandTimes(SendCommandCommand, 1);
        expect(ssm).toReceiveCommandWith(SendCommandCommand, {
          DocumentName: 'Deployctl-DeployApplication',
          InstanceIds: hosts(3),
          Parameters: { app: ['web'], version: ['1.2.3'] },
          TimeoutSeconds: 900,
          Comment: 'deployctl dep-1 deploy wave 1',
          // SSM never stops a batch on its own: the deployment's error budget decides.
          MaxConcurrency: '100%',
          MaxErrors: '100%',
        });
      });

      it('accepts exactly 50 instance ids in one call', async () => {
        ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-50' } });

        await expect(
          fleet.send({ instanceIds: hosts(50), document: 'AWS-RunShellScript', parameters: {}, timeoutSeconds: 600, comment: '' }),
        ).resolves.toBe('cmd-50');
        expect(ssm).toReceiveCommandWith(SendCommandCommand, { InstanceIds: hosts(50) });
      });

      it('refuses more than 50 instance ids without calling SSM', async () => {
        await expect(
          fleet.send({ instanceIds: hosts(51), document: 'AWS-RunShellScript', parameters: {}, timeoutSeconds: 600, comment: '' }),
        ).rejects.toThrow(new RangeError('SendCommand takes 1 to 50 instance ids, got 51'));
        expect(ssm).toReceiveCommandTimes(SendCommandCommand, 0);
      });

      it('refuses an empty list of instance ids without calling SSM', async () => {
        await expect(
          fleet.send({ instanceIds: [], document: 'AWS-RunShellScript', parameters: {}, timeoutSeconds: 600, comment: '' }),
        ).rejects.toThrow(RangeError);
        expect(ssm).toReceiveCommandTimes(SendCommandCommand, 0);
      });

      it('fails when SSM returns no command id', async () => {
        ssm.on(SendCommandCommand).resolves({});

        await expect(
          fleet.send({ instanceIds: hosts(1), document: 'AWS-RunShellScript', parameters: {}, timeoutSeconds: 600, comment: '' }),
        ).rejects.toThrow('SendCommand returned no command id');
      });
    });

    describe('invocations', () => {
      it('reads every page of ListCommandInvocations for the command, with the output of each plugin', async () => {
        ssm
          .on(ListCommandInvocationsCommand)
          .resolvesOnce({
            CommandInvocations: [
              {
                InstanceId: host(1),
                Status: 'Success',
                StatusDetails: 'Success',
                CommandPlugins: [{ Name: 'deploy', Output: 'installed 2.0.0\n' }],
              },
              {
                InstanceId: host(2),
                Status: 'Failed',
                StatusDetails: 'Failed',
                CommandPlugins: [{ Output: 'step one\n' }, { Output: 'exit 1\n' }],
              },
            ],
            NextToken: 'page-2',
          })
          .resolvesOnce({
            CommandInvocations: [{ InstanceId: host(3), Status: 'InProgress', StatusDetails: 'InProgress' }],
          });

        const invocations = await fleet.invocations('cmd-1');

        expect(invocations).toEqual([
          { instanceId: host(1), status: 'Success', statusDetails: 'Success', output: 'installed 2.0.0\n' },
          { instanceId: host(2), status: 'Failed', statusDetails: 'Failed', output: 'step one\nexit 1\n' },
          { instanceId: host(3), status: 'InProgress', statusDetails: 'InProgress' },
        ]);
        expect(ssm).toReceiveCommandTimes(ListCommandInvocationsCommand, 2);
        expect(ssm).toReceiveNthCommandWith(ListCommandInvocationsCommand, 1, {
          CommandId: 'cmd-1',
          Details: true,
          NextToken: undefined,
          MaxResults: 50,
        });
        expect(ssm).toReceiveNthCommandWith(ListCommandInvocationsCommand, 2, {
          CommandId: 'cmd-1',
          Details: true,
          NextToken: 'page-2',
          MaxResults: 50,
        });
      });

      it('skips invocations without an instance id and fills in a missing status', async () => {
        ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ Status: 'Success' }, { InstanceId: host(1) }] });

        expect(await fleet.invocations('cmd-1')).toEqual([{ instanceId: host(1), status: 'Unknown', statusDetails: '' }]);
      });
    });

    describe('findCommand', () => {
      const query = {
        instanceId: host(7),
        document: 'Deployctl-DeployApplication',
        comment: 'deployctl wave 2 batch 2/3 dep-1',
        after: new Date('2026-01-01T00:00:00Z'),
      };

      it('lists the commands sent to the host with the document since the time, across pages, and picks the one with the comment', async () => {
        ssm
          .on(ListCommandsCommand)
          .resolvesOnce({ Commands: [{ CommandId: 'cmd-x', Comment: 'deployctl wave 2 batch 2/3 dep-2' }], NextToken: 'p2' })
          .resolvesOnce({ Commands: [{ CommandId: 'cmd-b', Comment: 'deployctl wave 2 batch 2/3 dep-1' }] });

        expect(await fleet.findCommand(query)).toBe('cmd-b');
        expect(ssm).toReceiveNthCommandWith(ListCommandsCommand, 1, {
          InstanceId: host(7),
          Filters: [
            { key: 'InvokedAfter', value: '2026-01-01T00:00:00.000Z' },
            { key: 'DocumentName', value: 'Deployctl-DeployApplication' },
          ],
          MaxResults: 50,
        });
        expect(ssm).toReceiveNthCommandWith(ListCommandsCommand, 2, { NextToken: 'p2' });
      });

      it('answers undefined when no command carries the comment', async () => {
        ssm.on(ListCommandsCommand).resolves({ Commands: [{ CommandId: 'cmd-x', Comment: 'deployctl wave 2 batch 1/3 dep-1' }] });

        expect(await fleet.findCommand(query)).toBeUndefined();
      });
    });
  });

  describe('SsmInventory', () => {
    const inventory = new SsmInventory(new SSMClient({}));

    describe('resolve', () => {
      it('resolves tags with one tag:Key filter per tag, across every page', async () => {
        ssm
          .on(DescribeInstanceInformationCommand)
          .resolvesOnce({
            InstanceInformationList: [
              { InstanceId: host(1), PingStatus: 'Online' },
              { InstanceId: host(2), PingStatus: 'ConnectionLost' },
            ],
            NextToken: 'next',
          })
          .resolvesOnce({ InstanceInformationList: [{ InstanceId: host(3), PingStatus: 'Online' }] });

        const resolved = await inventory.resolve({ tags: { Role: 'web', Env: 'prod' } });

        expect(resolved).toEqual([host(1), host(2), host(3)]);
        const filters = [
          { Key: 'tag:Role', Values: ['web'] },
          { Key: 'tag:Env', Values: ['prod'] },
        ];
        expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 2);
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 1, {
          Filters: filters,
          MaxResults: 50,
          NextToken: undefined,
        });
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 2, { Filters: filters, MaxResults: 50, NextToken: 'next' });
      });

      it('returns instance ids as given, without duplicates and without calling SSM', async () => {
        expect(await inventory.resolve({ instanceIds: [host(1), host(2), host(1)] })).toEqual([host(1), host(2)]);
        expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 0);
      });

      it('refuses resource group targets, which are not supported yet', async () => {
        await expect(inventory.resolve({ resourceGroup: 'web-servers' })).rejects.toThrow('resource group targets are not supported yet');
      });
    });

    describe('pingStatus', () => {
      it('asks about at most 50 instance ids per call and reads every page of each', async () => {
        const fleet = hosts(120);
        ssm.on(DescribeInstanceInformationCommand).resolves({});
        ssm
          .on(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: fleet.slice(0, 50) }] })
          .resolvesOnce({
            InstanceInformationList: fleet.slice(0, 25).map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })),
            NextToken: 'more',
          })
          .resolvesOnce({ InstanceInformationList: fleet.slice(25, 50).map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) });
        ssm
          .on(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: fleet.slice(50, 100) }] })
          .resolves({ InstanceInformationList: fleet.slice(50, 100).map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) });
        ssm
          .on(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: fleet.slice(100) }] })
          .resolves({ InstanceInformationList: fleet.slice(100, 119).map((InstanceId) => ({ InstanceId, PingStatus: 'ConnectionLost' })) });

        const info = await inventory.pingStatus(fleet);

        expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 4);
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 1, {
          Filters: [{ Key: 'InstanceIds', Values: fleet.slice(0, 50) }],
          NextToken: undefined,
        });
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 2, {
          Filters: [{ Key: 'InstanceIds', Values: fleet.slice(0, 50) }],
          NextToken: 'more',
        });
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 3, {
          Filters: [{ Key: 'InstanceIds', Values: fleet.slice(50, 100) }],
        });
        expect(ssm).toReceiveNthCommandWith(DescribeInstanceInformationCommand, 4, {
          Filters: [{ Key: 'InstanceIds', Values: fleet.slice(100, 120) }],
        });
        expect(info).toHaveLength(120);
        expect(info.map((h) => h.instanceId)).toEqual(fleet);
        expect(info.filter((h) => h.pingStatus === 'Online')).toHaveLength(100);
        expect(info[100]).toEqual({ instanceId: fleet[100], pingStatus: 'ConnectionLost' });
        expect(info[119]).toEqual({ instanceId: fleet[119], pingStatus: 'Unknown' });
      });

      it('makes no call for an empty list of hosts', async () => {
        expect(await inventory.pingStatus([])).toEqual([]);
        expect(ssm).toReceiveCommandTimes(DescribeInstanceInformationCommand, 0);
      });
    });
  });

  describe('SsmChangeCalendars', () => {
    const calendars = new SsmChangeCalendars(new SSMClient({}));
    const CALENDAR = 'arn:aws:ssm:us-east-2:123456789012:document/MyChangeCalendarDocument';

    it('asks GetCalendarState for the one calendar at the given time, to the second, and returns its state and next change', async () => {
      // The documented sample response (Systems Manager User Guide, change-calendar-getstate).
      ssm
        .on(GetCalendarStateCommand)
        .resolves({ State: 'OPEN', AtTime: '2020-07-30T16:18:18Z', NextTransitionTime: '2020-07-31T00:00:00Z' });

      const state = await calendars.state(CALENDAR, new Date('2020-07-30T16:18:18.456Z'));

      expect(state).toEqual({ state: 'OPEN', nextTransitionTime: new Date('2020-07-31T00:00:00Z') });
      expect(ssm).toHaveReceivedCommandTimes(GetCalendarStateCommand, 1);
      expect(ssm.commandCalls(GetCalendarStateCommand)[0]?.args[0].input).toEqual({
        CalendarNames: [CALENDAR],
        AtTime: '2020-07-30T16:18:18Z',
      });
    });

    it('returns CLOSED with no next change when SSM gives none', async () => {
      ssm.on(GetCalendarStateCommand).resolves({ State: 'CLOSED', AtTime: '2020-07-30T16:18:18Z' });

      await expect(calendars.state('prod-freeze', new Date('2020-07-30T16:18:18Z'))).resolves.toEqual({ state: 'CLOSED' });
    });

    it('turns InvalidDocument (no such calendar) into CalendarUnavailable with SSM reason', async () => {
      ssm.on(GetCalendarStateCommand).rejects(new InvalidDocument({ message: "The specified SSM document doesn't exist.", $metadata: {} }));

      const error = await calendars.state('prod-freeze', new Date('2020-07-30T16:18:18Z')).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CalendarUnavailable);
      expect((error as Error).message).toBe(
        "change calendar prod-freeze cannot be read: InvalidDocument: The specified SSM document doesn't exist.",
      );
    });

    it('lets a throttling error through, for the task retry', async () => {
      ssm.on(GetCalendarStateCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

      await expect(calendars.state('prod-freeze', new Date())).rejects.toMatchObject({ name: 'ThrottlingException' });
    });
  });
});
