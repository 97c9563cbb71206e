import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DeploymentStatus } from '#core/records.ts';
import { keys } from '#core/records.ts';
import { createExecutionStatus } from '#handlers/execution-status.ts';
import { acceptWrites, auditEvents, awsTestDeps, givenDeployment } from '#test/support/aws-mocks.ts';
import { BUS, DEPLOYMENT_ID, lambdaContext, metaItem, minimalSpecInput, NOW, specOf } from '#test/support/fixtures.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:deployctl-rolling';

interface StatusChange {
  readonly status: string;
  readonly name?: string;
  readonly input?: string | null;
  readonly error?: string | null;
  readonly cause?: string | null;
}

/** The event Step Functions puts on EventBridge when an execution changes status. */
function statusChange({
  status,
  name = DEPLOYMENT_ID,
  input = JSON.stringify(minimalSpecInput),
  error = null,
  cause = null,
}: StatusChange) {
  return {
    version: '0',
    id: 'evt-1',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: '2026-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:states:us-east-1:123456789012:execution:deployctl-rolling:${name}`],
    detail: {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:deployctl-rolling:${name}`,
      stateMachineArn: STATE_MACHINE_ARN,
      name,
      status,
      startDate: 1767222000000,
      stopDate: 1767225600000,
      input,
      output: null,
      error,
      cause,
    },
  };
}

describe('execution-status', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createExecutionStatus(awsTestDeps());
  const spec = specOf({ previousVersion: '1.2.2' });

  /** finishDeployment answers with the record as DynamoDB stored it. */
  function finishedAs(status: DeploymentStatus, reason: string) {
    db.on(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
      Attributes: metaItem(spec, status, { endedAt: NOW.toISOString(), reason, hostCount: 10, failed: 2 }),
    });
  }

  function eventDetail() {
    return JSON.parse(eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');
  }

  function writes() {
    return [
      ...db.commandCalls(PutCommand),
      ...db.commandCalls(UpdateCommand),
      ...db.commandCalls(DeleteCommand),
      ...db.commandCalls(TransactWriteCommand),
    ];
  }

  beforeEach(() => {
    db.reset();
    eventbridge.reset();
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  describe('when a running deployment was stopped with StopExecution', () => {
    const reason = 'execution stopped (StopExecution): stopped by alice';
    const event = statusChange({ status: 'ABORTED', cause: 'stopped by alice' });

    beforeEach(() => {
      givenDeployment(db, spec, 'RUNNING');
      finishedAs('ABORTED', reason);
    });

    it('sets the terminal status ABORTED with a conditional update of the META record', async () => {
      await expect(handler(event, lambdaContext)).resolves.toEqual({ finalized: true, status: 'ABORTED' });

      expect(db).toReceiveCommandExactlyOnceWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(endedAt) OR #status = :status)',
        ExpressionAttributeValues: { ':status': 'ABORTED', ':reason': reason, ':at': NOW.toISOString() },
      });
    });

    it('releases the lock with a delete conditional on this deployment holding it', async () => {
      await handler(event, lambdaContext);

      expect(db).toReceiveCommandExactlyOnceWith(DeleteCommand, {
        Key: keys.lock('web', 'prod'),
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': DEPLOYMENT_ID },
      });
    });

    it('records the release in the history and an ExecutionEnded event by stepfunctions', async () => {
      await handler(event, lambdaContext);

      expect(db).toReceiveCommandWith(PutCommand, {
        Item: expect.objectContaining({ pk: 'APP#web#prod', version: '1.2.3', previousVersion: '1.2.2', status: 'ABORTED' }),
      });
      expect(auditEvents(db)).toContainEqual(
        expect.objectContaining({
          pk: `DEPLOY#${DEPLOYMENT_ID}`,
          type: 'ExecutionEnded',
          actor: 'stepfunctions',
          status: 'ABORTED',
          error: null,
          cause: 'stopped by alice',
          lockReleased: true,
        }),
      );
    });

    it('puts a Deployment Status Change event with the recorded status and reason', async () => {
      await handler(event, lambdaContext);

      expect(eventbridge).toReceiveCommandExactlyOnceWith(PutEventsCommand, {
        Entries: [expect.objectContaining({ EventBusName: BUS, Source: 'deployctl', DetailType: 'Deployment Status Change' })],
      });
      expect(eventDetail()).toEqual({
        deploymentId: DEPLOYMENT_ID,
        app: 'web',
        environment: 'prod',
        version: '1.2.3',
        status: 'ABORTED',
        reason,
        hosts: 10,
        failed: 2,
      });
    });

    it('does nothing more when EventBridge delivers the same event a second time', async () => {
      db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) })
        .resolvesOnce({ Item: metaItem(spec, 'RUNNING') })
        .resolves({ Item: metaItem(spec, 'ABORTED', { endedAt: NOW.toISOString() }) });
      db.on(DeleteCommand)
        .resolvesOnce({})
        .rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));

      await expect(handler(event, lambdaContext)).resolves.toEqual({ finalized: true, status: 'ABORTED' });
      await expect(handler(event, lambdaContext)).resolves.toEqual({ finalized: false, lockReleased: false });

      expect(db).toReceiveCommandTimes(UpdateCommand, 1);
      expect(db).toReceiveCommandTimes(PutCommand, 1);
      expect(db).toReceiveCommandTimes(TransactWriteCommand, 1);
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 1);
    });
  });

  it.each([
    { status: 'ABORTED', error: null, cause: null, recorded: 'ABORTED', reason: 'execution stopped (StopExecution)' },
    { status: 'TIMED_OUT', error: null, cause: null, recorded: 'FAILED', reason: 'execution timed out' },
    {
      status: 'FAILED',
      error: 'States.Runtime',
      cause: "The JSONPath '$.wave' could not be found in the input",
      recorded: 'FAILED',
      reason: "execution failed: States.Runtime: The JSONPath '$.wave' could not be found in the input",
    },
  ] as const)(
    'records $recorded with the reason "$reason" for an execution that ended $status',
    async ({ status, error, cause, recorded, reason }) => {
      givenDeployment(db, spec, 'RUNNING');
      finishedAs(recorded, reason);

      await expect(handler(statusChange({ status, error, cause }), lambdaContext)).resolves.toEqual({ finalized: true, status: recorded });

      expect(db).toReceiveCommandWith(UpdateCommand, {
        Key: keys.meta(DEPLOYMENT_ID),
        ExpressionAttributeValues: { ':status': recorded, ':reason': reason, ':at': NOW.toISOString() },
      });
      expect(auditEvents(db)).toContainEqual(expect.objectContaining({ type: 'ExecutionEnded', status, error, cause }));
      expect(eventDetail()).toMatchObject({ status: recorded, reason });
    },
  );

  it('finalizes a deployment that failed before it was running, whose lock it never took', async () => {
    givenDeployment(db, spec, 'PENDING');
    finishedAs('FAILED', 'execution timed out');
    db.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));

    await expect(handler(statusChange({ status: 'TIMED_OUT' }), lambdaContext)).resolves.toEqual({ finalized: true, status: 'FAILED' });
    expect(auditEvents(db)).toContainEqual(expect.objectContaining({ type: 'ExecutionEnded', lockReleased: false }));
    expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 1);
  });

  describe('when the state machine finalized the deployment itself', () => {
    beforeEach(() => givenDeployment(db, spec, 'ROLLED_BACK'));

    it('leaves the META record alone and still releases the lock this deployment holds', async () => {
      await expect(handler(statusChange({ status: 'FAILED', error: 'DeploymentRolledBack' }), lambdaContext)).resolves.toEqual({
        finalized: false,
        lockReleased: true,
      });

      expect(db).toReceiveCommandTimes(UpdateCommand, 0);
      expect(db).toReceiveCommandTimes(PutCommand, 0);
      expect(db).toReceiveCommandExactlyOnceWith(DeleteCommand, {
        Key: keys.lock('web', 'prod'),
        ConditionExpression: 'holder = :me',
        ExpressionAttributeValues: { ':me': DEPLOYMENT_ID },
      });
      expect(eventbridge).toReceiveCommandTimes(PutEventsCommand, 0);
    });

    it('reports that no lock was released when the lock is no longer this deployment’s', async () => {
      db.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {} }));

      await expect(handler(statusChange({ status: 'FAILED', error: 'DeploymentRolledBack' }), lambdaContext)).resolves.toEqual({
        finalized: false,
        lockReleased: false,
      });
      expect(db).toReceiveCommandTimes(DeleteCommand, 1);
    });
  });

  it('writes nothing when the execution recorded no deployment', async () => {
    await expect(handler(statusChange({ status: 'FAILED', error: 'InvalidSpec' }), lambdaContext)).resolves.toEqual({ finalized: false });

    expect(db).toReceiveCommandExactlyOnceWith(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) });
    expect(writes()).toHaveLength(0);
    expect(eventbridge.calls()).toHaveLength(0);
  });

  it('leaves the record alone when it belongs to another execution that used the same deployment id first', async () => {
    db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({ Item: metaItem(spec, 'RUNNING', { executionName: 'first-run' }) });
    const event = statusChange({
      status: 'FAILED',
      name: 'second-run',
      input: JSON.stringify({ ...minimalSpecInput, deploymentId: DEPLOYMENT_ID }),
      error: 'DeploymentNotStarted',
    });

    await expect(handler(event, lambdaContext)).resolves.toEqual({ finalized: false });
    expect(writes()).toHaveLength(0);
    expect(eventbridge.calls()).toHaveLength(0);
  });

  it.each(['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE'])('makes no call at all for an execution whose status is %s', async (status) => {
    await expect(handler(statusChange({ status }), lambdaContext)).resolves.toEqual({ finalized: false });

    expect(db.calls()).toHaveLength(0);
    expect(eventbridge.calls()).toHaveLength(0);
  });

  it('takes the deployment id from the spec in the input when it differs from the execution name', async () => {
    const input = JSON.stringify({ ...minimalSpecInput, deploymentId: DEPLOYMENT_ID });
    db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({ Item: metaItem(spec, 'RUNNING', { executionName: 'web-prod-run-7' }) });
    finishedAs('ABORTED', 'execution stopped (StopExecution)');

    await expect(handler(statusChange({ status: 'ABORTED', name: 'web-prod-run-7', input }), lambdaContext)).resolves.toEqual({
      finalized: true,
      status: 'ABORTED',
    });

    expect(db).toReceiveCommandExactlyOnceWith(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) });
    expect(db).toReceiveCommandWith(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) });
    expect(db).toReceiveCommandWith(DeleteCommand, { ExpressionAttributeValues: { ':me': DEPLOYMENT_ID } });
  });

  it.each([
    { input: null, what: 'no input' },
    { input: '{"app": "web", ', what: 'an input that is not JSON' },
    { input: JSON.stringify(minimalSpecInput), what: 'a spec without a deploymentId' },
  ])('takes the deployment id from the execution name given $what', async ({ input }) => {
    await handler(statusChange({ status: 'TIMED_OUT', name: 'exec-42', input }), lambdaContext);

    expect(db).toReceiveCommandExactlyOnceWith(GetCommand, { Key: keys.meta('exec-42') });
  });

  it('passes on a DynamoDB error other than a missing record so that the event is retried', async () => {
    db.on(GetCommand).rejects(new Error('ProvisionedThroughputExceededException'));

    await expect(handler(statusChange({ status: 'ABORTED' }), lambdaContext)).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(writes()).toHaveLength(0);
  });

  it.each([
    {
      what: 'another detail type',
      event: { ...statusChange({ status: 'ABORTED' }), 'detail-type': 'EC2 Command Status-change Notification' },
    },
    { what: 'another source', event: { ...statusChange({ status: 'ABORTED' }), source: 'aws.ssm' } },
    { what: 'no execution name', event: { ...statusChange({ status: 'ABORTED' }), detail: { status: 'ABORTED', executionArn: 'arn' } } },
  ])('refuses an event with $what before making any call', async ({ event }) => {
    await expect(handler(event, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });

    expect(db.calls()).toHaveLength(0);
    expect(eventbridge.calls()).toHaveLength(0);
  });
});
