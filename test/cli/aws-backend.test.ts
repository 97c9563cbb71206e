import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { openBackend, readStackOutputs } from '#cli/backend.ts';
import { BadInput } from '#cli/spec-input.ts';

const ARNS = {
  rolling: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deployctl-rolling',
  canary: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deployctl-canary',
};

describe('the CLI against AWS', () => {
  const cloudformation = mockClient(CloudFormationClient);
  const dynamodb = mockClient(DynamoDBDocumentClient);
  const sfn = mockClient(SFNClient);

  beforeEach(() => {
    cloudformation.reset();
    dynamodb.reset();
    sfn.reset();
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Deployctl',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TableName', OutputValue: 'Deployctl-Deployments' },
            { OutputKey: 'StateMachineArns', OutputValue: JSON.stringify(ARNS) },
          ],
        },
      ],
    });
  });

  it('finds the table and the state machines in the stack outputs', async () => {
    const outputs = await readStackOutputs(new CloudFormationClient({}), 'Deployctl');

    expect(outputs).toEqual({ TableName: 'Deployctl-Deployments', StateMachineArns: ARNS });
    expect(cloudformation).toReceiveCommandWith(DescribeStacksCommand, { StackName: 'Deployctl' });
  });

  it('refuses a stack without the deployctl outputs, naming the fix', async () => {
    cloudformation
      .on(DescribeStacksCommand)
      .resolves({ Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE' }] });

    const reading = readStackOutputs(new CloudFormationClient({}), 'Other');

    await expect(reading).rejects.toThrow(BadInput);
    await expect(reading).rejects.toThrow(/stack Other does not have the deployctl outputs .*--stack/);
  });

  it('starts a deployment with StartExecution on its strategy machine, named by the deployment id', async () => {
    dynamodb.on(GetCommand).resolves({});
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARNS.canary}:release-42`, startDate: new Date() });
    const backend = await openBackend({ stack: 'Deployctl', stateDir: '.deployctl', region: 'eu-west-1' });
    const spec = {
      deploymentId: 'release-42',
      app: 'web',
      environment: 'prod',
      version: '4.2.0',
      targets: { tags: { app: 'web' } },
      strategy: { type: 'canary' },
      requestedBy: 'alice',
    };

    const started = await backend.service.start(spec);

    expect(started).toEqual({ deploymentId: 'release-42', strategy: 'canary', started: true, executionArn: `${ARNS.canary}:release-42` });
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: ARNS.canary,
      name: 'release-42',
      input: JSON.stringify(spec),
    });
    expect(dynamodb).toReceiveCommandWith(GetCommand, { TableName: 'Deployctl-Deployments', Key: { pk: 'DEPLOY#release-42', sk: 'META' } });
  });

  it('approves through the task token the gate stored, with SendTaskSuccess', async () => {
    dynamodb.on(GetCommand).resolves({
      Item: {
        pk: 'DEPLOY#release-42',
        sk: 'META',
        deploymentId: 'release-42',
        status: 'RUNNING',
        spec: { app: 'web', environment: 'prod', version: '4.2.0' },
        gate: { kind: 'approval', wave: 1, token: 'token-1', since: '2026-11-23T10:00:00Z' },
      },
    });
    sfn.on(SendTaskSuccessCommand).resolves({});
    const backend = await openBackend({ stack: 'Deployctl', stateDir: '.deployctl', region: 'eu-west-1', profile: 'ops' });

    const result = await backend.service.control({ deploymentId: 'release-42', action: 'approve', by: 'bob' });

    expect(result.message).toBe('wave 2 approved by bob');
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1', output: JSON.stringify({ approvedBy: 'bob' }) });
  });
});
