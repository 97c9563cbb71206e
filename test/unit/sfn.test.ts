import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SfnCallbacks } from '../../lambdas/adapters/aws/sfn.ts';

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
