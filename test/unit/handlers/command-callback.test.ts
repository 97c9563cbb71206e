import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { keys } from '#core/records.ts';
import { createCommandCallback } from '#handlers/command-callback.ts';
import { commandStatusEvent } from '#test/fixtures/ssm-events.ts';
import { acceptWrites, awsTestDeps } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, lambdaContext } from '#test/support/fixtures.ts';

function statusChange(commandId: string, status: string) {
  return {
    version: '0',
    source: 'aws.ssm',
    'detail-type': 'EC2 Command Status-change Notification',
    detail: { 'command-id': commandId, 'document-name': 'Deployctl-DeployApplication', status },
  };
}

describe('command-callback', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const sfn = mockClient(SFNClient);
  const handler = createCommandCallback(awsTestDeps());

  beforeEach(() => {
    db.reset();
    sfn.reset();
    acceptWrites(db);
    sfn.on(SendTaskSuccessCommand).resolves({});
    db.on(GetCommand, { Key: keys.command('cmd-2') }).resolves({
      Item: { ...keys.command('cmd-2'), token: 'token-1', deploymentId: DEPLOYMENT_ID, wave: 0 },
    });
  });

  function waveAfterUpdate(completed: string[], allSent = true) {
    db.on(UpdateCommand).resolves({
      Attributes: { ...keys.wave(DEPLOYMENT_ID, 0), allSent, commandIds: ['cmd-1', 'cmd-2'], completedCommands: new Set(completed) },
    });
  }

  it.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('does nothing for the non-terminal status %s', async (status) => {
    await expect(handler(statusChange('cmd-2', status), lambdaContext)).resolves.toEqual({ woke: false });

    expect(db.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('wakes the execution with the stored token when the last command of the wave finishes', async () => {
    waveAfterUpdate(['cmd-1', 'cmd-2']);

    await expect(handler(statusChange('cmd-2', 'Success'), lambdaContext)).resolves.toEqual({ woke: true });

    expect(db).toReceiveCommandWith(UpdateCommand, {
      Key: keys.wave(DEPLOYMENT_ID, 0),
      UpdateExpression: 'ADD completedCommands :cid',
      ExpressionAttributeValues: { ':cid': new Set(['cmd-2']) },
    });
    expect(sfn).toReceiveCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: JSON.stringify({ commandId: 'cmd-2', status: 'Success' }),
    });
  });

  it('wakes the execution for a failed command too: the evaluation judges the hosts', async () => {
    waveAfterUpdate(['cmd-1', 'cmd-2']);

    await expect(handler(statusChange('cmd-2', 'Failed'), lambdaContext)).resolves.toEqual({ woke: true });
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { output: JSON.stringify({ commandId: 'cmd-2', status: 'Failed' }) });
  });

  it('does not wake the execution while another command of the wave is outstanding', async () => {
    waveAfterUpdate(['cmd-2']);

    await expect(handler(statusChange('cmd-2', 'Success'), lambdaContext)).resolves.toEqual({ woke: false });
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 0);
  });

  it('does not wake the execution before the sender has stored every command of the wave', async () => {
    waveAfterUpdate(['cmd-1', 'cmd-2'], false);

    await expect(handler(statusChange('cmd-2', 'Success'), lambdaContext)).resolves.toEqual({ woke: false });
    expect(sfn).toReceiveCommandTimes(SendTaskSuccessCommand, 0);
  });

  it('swallows TaskTimedOut when the execution stopped waiting already', async () => {
    waveAfterUpdate(['cmd-1', 'cmd-2']);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await expect(handler(statusChange('cmd-2', 'TimedOut'), lambdaContext)).resolves.toEqual({ woke: false });
  });

  it('passes on other Step Functions errors so that the event is retried', async () => {
    waveAfterUpdate(['cmd-1', 'cmd-2']);
    sfn.on(SendTaskSuccessCommand).rejects(new Error('ServiceUnavailable'));

    await expect(handler(statusChange('cmd-2', 'Success'), lambdaContext)).rejects.toThrow('ServiceUnavailable');
  });

  it('ignores the documented sample event, a command deployctl did not send: no token, no error, nothing woken', async () => {
    const event = commandStatusEvent();

    await expect(handler(event, lambdaContext)).resolves.toEqual({ woke: false, unknown: true });
    expect(db.commandCalls(GetCommand)).toHaveLength(1);
    expect(db.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual(keys.command('e8d3c0e4-71f7-4491-898f-c9b35bee5f3b'));
    expect(db.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it("ignores a status of deployctl's document whose token is not stored (yet): the wave's timeout covers it", async () => {
    await expect(
      handler(commandStatusEvent({ 'command-id': 'cmd-early', 'document-name': 'Deployctl-DeployApplication' }), lambdaContext),
    ).resolves.toEqual({ woke: false, unknown: true });
    expect(db.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('refuses an event that is not an SSM command status change', async () => {
    await expect(handler({ 'detail-type': 'EC2 Instance State-change Notification', detail: {} }, lambdaContext)).rejects.toMatchObject({
      name: 'ZodError',
    });
    expect(db.calls()).toHaveLength(0);
  });
});
