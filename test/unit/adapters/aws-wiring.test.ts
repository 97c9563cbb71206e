import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { readEnv, StateMachineArns } from '#adapters/aws/wiring/config.ts';

/**
 * The AWS adapters each function's entry wires (lambdas/adapters/aws/wiring): built at module
 * scope from the environment, each over its own client. Imported fresh per test, after the
 * variables are set, as a cold start does.
 */
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:deployctl-rolling';

describe('the AWS wiring', () => {
  beforeEach(() => {
    vi.resetModules();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('puts events on the bus EVENT_BUS_NAME names', async () => {
    vi.stubEnv('EVENT_BUS_NAME', 'deployctl-bus');
    const eventbridge = mockClient(EventBridgeClient);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const { events } = await import('#adapters/aws/wiring/events.ts');

    await events.put({
      detailType: 'Deployment Status Change',
      detail: { deploymentId: 'dep-1', app: 'web', environment: 'prod', status: 'SUCCEEDED' },
    });

    expect(eventbridge).toReceiveCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'deployctl-bus',
          Source: 'deployctl',
          DetailType: 'Deployment Status Change',
          Detail: JSON.stringify({ deploymentId: 'dep-1', app: 'web', environment: 'prod', status: 'SUCCEEDED' }),
        },
      ],
    });
    eventbridge.restore();
  });

  it('starts executions on the machine STATE_MACHINE_ARNS names for the strategy', async () => {
    vi.stubEnv('STATE_MACHINE_ARNS', JSON.stringify({ rolling: ARN }));
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:dep-1` });
    const { executions } = await import('#adapters/aws/wiring/executions.ts');

    await expect(executions.start('rolling', 'dep-1', { a: 1 })).resolves.toEqual({ executionArn: `${ARN}:dep-1` });
    expect(sfn).toReceiveCommandExactlyOnceWith(StartExecutionCommand, { stateMachineArn: ARN, name: 'dep-1', input: '{"a":1}' });
    sfn.restore();
  });

  it('reads records from the table TABLE_NAME names, through one document client', async () => {
    vi.stubEnv('TABLE_NAME', 'deployctl-table');
    const db = mockClient(DynamoDBDocumentClient);
    db.on(GetCommand).resolves({});
    const { db: shared, tableName } = await import('#adapters/aws/wiring/dynamodb.ts');

    expect(tableName).toBe('deployctl-table');
    await shared.send(new GetCommand({ TableName: tableName, Key: { pk: 'x', sk: 'y' } }));
    expect(db).toReceiveCommandExactlyOnceWith(GetCommand, { TableName: 'deployctl-table', Key: { pk: 'x', sk: 'y' } });
    db.restore();
  });

  it('fails at import, naming the variable, when TABLE_NAME is missing', async () => {
    vi.stubEnv('TABLE_NAME', '');
    await expect(import('#adapters/aws/wiring/deployments.ts')).rejects.toThrow(/TABLE_NAME/);
  });

  it('refuses a STATE_MACHINE_ARNS that is not JSON or names no state machine ARN', () => {
    const schema = z.object({ STATE_MACHINE_ARNS: StateMachineArns });
    expect(() => readEnv(schema, { STATE_MACHINE_ARNS: 'nope' })).toThrow(/JSON object[\s\S]*STATE_MACHINE_ARNS/);
    expect(() => readEnv(schema, { STATE_MACHINE_ARNS: '{"rolling":"arn:aws:sns:x"}' })).toThrow(/state machine ARN/);
    expect(readEnv(schema, { STATE_MACHINE_ARNS: JSON.stringify({ rolling: ARN }) })).toEqual({ STATE_MACHINE_ARNS: { rolling: ARN } });
  });
});
