import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_BODY_BYTES } from '#core/api-contract.ts';
import { parseSpec } from '#core/spec.ts';
import type { ApiConfig as ApiConfigSchema } from '#functions/api.ts';

/**
 * The API Lambda's entry (lambdas/functions/api.ts) over mocked SDK clients:
 * the exact Step Functions and DynamoDB calls behind each route.
 */

const ARNS = {
  rolling: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deployctl-rolling',
  canary: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deployctl-canary',
  allAtOnce: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deployctl-allAtOnce',
};
const CALLER = 'arn:aws:sts::123456789012:assumed-role/Deployer/alice';
const SPEC = {
  deploymentId: 'api-unit-1',
  app: 'web',
  environment: 'prod',
  version: '2.0.0',
  targets: { tags: { app: 'web' } },
  strategy: { type: 'rolling', batchSize: '25%' },
};

const context = {
  functionName: 'deployctl-api',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:deployctl-api',
  getRemainingTimeInMillis: () => 29_000,
} as unknown as Context;

function event(
  method: string,
  path: string,
  resource: string,
  body?: unknown,
  pathParameters: Record<string, string> | null = null,
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    path,
    resource,
    pathParameters,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { path: `/v1${path}`, stage: 'v1', requestId: 'api-req-1', identity: { userArn: CALLER, caller: 'AROAEXAMPLE:alice' } },
  } as unknown as APIGatewayProxyEvent;
}

describe('the API Lambda entry', () => {
  const sfn = mockClient(SFNClient);
  const db = mockClient(DynamoDBDocumentClient);
  let handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  let ApiConfig: typeof ApiConfigSchema;

  beforeAll(async () => {
    // The entry reads its configuration when it loads, as at a cold start.
    vi.stubEnv('TABLE_NAME', 'deployments');
    vi.stubEnv('STATE_MACHINE_ARNS', JSON.stringify(ARNS));
    ({ handler, ApiConfig } = await import('#functions/api.ts'));
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  beforeEach(() => {
    sfn.reset();
    db.reset();
    db.on(GetCommand).resolves({});
  });

  it("starts the strategy's state machine with the deployment id as execution name and the spec, with the IAM caller, as input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARNS.rolling.replace(':stateMachine:', ':execution:')}:api-unit-1` });

    const answer = await handler(event('POST', '/deployments', '/deployments', SPEC), context);

    expect(answer.statusCode).toBe(202);
    expect(JSON.parse(answer.body)).toMatchObject({
      deploymentId: 'api-unit-1',
      started: true,
      links: { self: '/v1/deployments/api-unit-1' },
    });
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: ARNS.rolling, name: 'api-unit-1' });
    const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(input).toEqual({ ...SPEC, requestedBy: CALLER });
    // It looked for an existing record and for a live lock holder first.
    expect(db).toReceiveCommandWith(GetCommand, { TableName: 'deployments', Key: { pk: 'DEPLOY#api-unit-1', sk: 'META' } });
    expect(db).toReceiveCommandWith(GetCommand, { TableName: 'deployments', Key: { pk: 'LOCK#web#prod', sk: 'LOCK' } });
  });

  it('answers a repeat of a recorded deployment with 200 and starts nothing', async () => {
    const record = { deploymentId: 'api-unit-1', status: 'RUNNING', spec: parseSpec({ ...SPEC, requestedBy: CALLER }) };
    db.on(GetCommand, { Key: { pk: 'DEPLOY#api-unit-1', sk: 'META' } }).resolves({ Item: record });

    const answer = await handler(event('POST', '/deployments', '/deployments', SPEC), context);

    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ deploymentId: 'api-unit-1', started: false, status: 'RUNNING' });
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('sends nothing to Step Functions for an invalid spec', async () => {
    const answer = await handler(event('POST', '/deployments', '/deployments', { ...SPEC, version: 'a b' }), context);

    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).fieldErrors).toEqual([{ field: 'version', message: expect.any(String) }]);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('answers 400 naming strategy.listenerArn for a blue-green spec on a Network Load Balancer listener, and starts nothing', async () => {
    const blueGreen = {
      ...SPEC,
      strategy: {
        type: 'blueGreen',
        blue: { tags: { color: 'blue' } },
        green: { tags: { color: 'green' } },
        listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/net/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
        blueTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067',
        greenTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/73e2d6bc24d8a068',
      },
    };

    const answer = await handler(event('POST', '/deployments', '/deployments', blueGreen), context);

    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).fieldErrors).toEqual([
      { field: 'strategy.listenerArn', message: expect.stringContaining('Application Load Balancer feature') },
    ]);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('answers 400 naming regions for a multi-region spec on a stack that is not the control region, and starts nothing', async () => {
    const answer = await handler(event('POST', '/deployments', '/deployments', { ...SPEC, regions: ['us-east-1', 'eu-west-1'] }), context);

    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).fieldErrors).toEqual([{ field: 'regions', message: expect.stringContaining('control region') }]);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('starts an emergency rollback of a finished deployment: every host at once, no approval, bake, alarm gate or window', async () => {
    const original = parseSpec({
      ...SPEC,
      previousVersion: '1.9.0',
      strategy: { type: 'canary', stages: [10, 50, 100], bakeSeconds: 300 },
      gates: { alarms: { names: ['web-5xx'] }, bakeSeconds: 600, approval: 'everyWave' },
    });
    db.on(GetCommand, { Key: { pk: 'DEPLOY#api-unit-1', sk: 'META' } }).resolves({
      Item: { deploymentId: 'api-unit-1', status: 'SUCCEEDED', spec: original },
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:Deployctl-allAtOnce:x' });

    const answer = await handler(
      { ...event('POST', '/deployments/api-unit-1/rollback', '/deployments/{id}/rollback', { emergency: true }, { id: 'api-unit-1' }) },
      context,
    );

    expect(answer.statusCode).toBe(202);
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: ARNS.allAtOnce, name: 'api-unit-1-emergency-rollback' });
    const input = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(input).toMatchObject({
      version: '1.9.0',
      rollbackOf: 'api-unit-1',
      priority: 'emergency',
      onFailure: 'abort',
      strategy: { type: 'allAtOnce' },
      gates: { alarms: {}, bakeSeconds: 0, approval: 'none' },
    });
  });

  it('answers a body larger than the size limit with 413 before reading it, and calls neither DynamoDB nor Step Functions', async () => {
    const body = { ...SPEC, requestedBy: 'x'.repeat(MAX_BODY_BYTES) };

    const answer = await handler(event('POST', '/deployments', '/deployments', body), context);

    expect(answer.statusCode).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'PayloadTooLarge', fieldErrors: [{ field: '(body)' }] });
    expect(db.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it("approves by succeeding the approval gate's task token, after recording who approved", async () => {
    const record = {
      deploymentId: 'api-unit-1',
      status: 'RUNNING',
      spec: parseSpec(SPEC),
      gate: { kind: 'approval', wave: 0, token: 'gate-token-1', since: '2026-01-01T00:00:00.000Z' },
    };
    db.on(GetCommand, { Key: { pk: 'DEPLOY#api-unit-1', sk: 'META' } }).resolves({ Item: record });
    db.on(UpdateCommand).resolves({});
    db.on(PutCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});

    const answer = await handler(
      event('POST', '/deployments/api-unit-1/approve', '/deployments/{id}/approve', { comment: 'go' }, { id: 'api-unit-1' }),
      context,
    );

    expect(answer.statusCode).toBe(200);
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, { taskToken: 'gate-token-1', output: JSON.stringify({ approvedBy: CALLER }) });
    expect(db).toReceiveCommandWith(PutCommand, { Item: expect.objectContaining({ type: 'Approved', actor: CALLER, comment: 'go' }) });
  });

  it('answers an SDK failure with 500 and a request id, never the error itself', async () => {
    db.on(GetCommand).rejects(new Error('ProvisionedThroughputExceeded at /var/task/index.mjs:1:2345'));

    const answer = await handler(event('GET', '/deployments/api-unit-1', '/deployments/{id}', undefined, { id: 'api-unit-1' }), context);

    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'InternalError', message: expect.stringContaining('api-req-1') });
    expect(answer.body).not.toContain('ProvisionedThroughput');
  });

  it('reads a configuration that names a state machine ARN for each strategy, and refuses any other', () => {
    expect(ApiConfig.parse({ TABLE_NAME: 't', STATE_MACHINE_ARNS: JSON.stringify(ARNS) }).STATE_MACHINE_ARNS).toEqual(ARNS);
    expect(ApiConfig.safeParse({ TABLE_NAME: 't', STATE_MACHINE_ARNS: '{rolling:' }).success).toBe(false);
    expect(ApiConfig.safeParse({ TABLE_NAME: 't', STATE_MACHINE_ARNS: JSON.stringify({ rolling: 'arn:aws:lambda:x' }) }).success).toBe(
      false,
    );
    expect(ApiConfig.safeParse({ STATE_MACHINE_ARNS: JSON.stringify(ARNS) }).success).toBe(false);
  });
});
