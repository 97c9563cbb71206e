import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { reportToParent } from '#app/close.ts';
import { keys } from '#core/records.ts';
import { type RegionalCompleted, regionalSpec } from '#core/regions.ts';
import { parseSpec } from '#core/spec.ts';
import { createRegionCompleted } from '#handlers/region-completed.ts';
import { acceptWrites, awsTestDeps } from '#test/support/aws-mocks.ts';
import { BUS, DEPLOYMENT_ID, lambdaContext, metaItem, minimalSpecInput, specOf } from '#test/support/fixtures.ts';

/** The control region's side of a region's end, over mocked DynamoDB, Step Functions and EventBridge clients. */

const db = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const eventbridge = mockClient(EventBridgeClient);

const completion: RegionalCompleted = {
  parentId: DEPLOYMENT_ID,
  region: 'eu-west-1',
  phase: 'deploy',
  deploymentId: `${DEPLOYMENT_ID}-eu-west-1`,
  status: 'ROLLED_BACK',
  reason: 'wave 2: 1 of 4 hosts failed',
  hosts: 4,
  succeeded: 2,
  failed: 1,
  rolledBack: 3,
  previousVersion: '1.0.0',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:05:00.000Z',
};
const event = { version: '0', source: 'deployctl', 'detail-type': 'Regional Deployment Completed', detail: completion };

/** The parent record with eu-west-1 waiting on `token` (null: nothing waits any more). */
function givenParent(token: string | null) {
  const spec = specOf({ regions: ['us-east-1', 'eu-west-1'] });
  db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
    Item: metaItem(spec, 'RUNNING', {
      regionWaves: [['us-east-1'], ['eu-west-1']],
      regions: { 'eu-west-1': { wave: 1, deploymentId: `${DEPLOYMENT_ID}-eu-west-1`, status: 'REQUESTED', token } },
    }),
  });
}

/** The updates of the region's entry in the parent record, in order. */
function regionUpdates() {
  return db
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => String(input.UpdateExpression).includes('#regions.#region.'));
}

describe('regionCompleted', () => {
  beforeEach(() => {
    db.reset();
    sfn.reset();
    eventbridge.reset();
    acceptWrites(db);
  });

  it('wakes the wait for the region with its stored token and records the outcome, counts and timings on the parent', async () => {
    givenParent('token-eu');
    sfn.on(SendTaskSuccessCommand).resolves({});

    const result = await createRegionCompleted(awsTestDeps())(event, lambdaContext);

    expect(result).toEqual({ delivered: true });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-eu', output: JSON.stringify(completion) });
    const [outcome, cleared] = regionUpdates();
    expect(outcome?.ExpressionAttributeNames).toMatchObject({ '#regions': 'regions', '#region': 'eu-west-1' });
    expect(Object.values(outcome?.ExpressionAttributeValues ?? {})).toEqual(
      expect.arrayContaining(['ROLLED_BACK', 'wave 2: 1 of 4 hosts failed', 4, 2, 1, 3, completion.endedAt]),
    );
    // The token is cleared only after it went back, so that a retried delivery can still send it.
    expect(Object.values(cleared?.ExpressionAttributeNames ?? {})).toContain('token');
    expect(Object.values(cleared?.ExpressionAttributeValues ?? {})).toContain(null);
  });

  it('ignores a repeated delivery: no token is waiting, nothing is sent or written', async () => {
    givenParent(null);

    const result = await createRegionCompleted(awsTestDeps())(event, lambdaContext);

    expect(result).toEqual({ delivered: false });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(regionUpdates()).toEqual([]);
  });

  it('still records the real outcome when the wait has just timed out (the token is closed)', async () => {
    givenParent('token-eu');
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    const result = await createRegionCompleted(awsTestDeps())(event, lambdaContext);

    expect(result).toEqual({ delivered: false });
    expect(Object.values(regionUpdates()[0]?.ExpressionAttributeValues ?? {})).toContain('ROLLED_BACK');
  });
  it('refuses an event from another source or of another type, reading and sending nothing', async () => {
    givenParent('token-eu');
    const handler = createRegionCompleted(awsTestDeps());

    await expect(handler({ ...event, source: 'someone.else' }, lambdaContext)).rejects.toThrow(/source/);
    await expect(handler({ ...event, 'detail-type': 'Regional Deployment Requested' }, lambdaContext)).rejects.toThrow(/detail-type/);
    expect(db).not.toHaveReceivedCommand(GetCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});

describe('reportToParent', () => {
  beforeEach(() => {
    eventbridge.reset();
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });

  it('puts "Regional Deployment Completed" with the regional record’s end on the bus for a deployment the control region started', async () => {
    const child = parseSpec(regionalSpec(specOf({ regions: ['eu-west-1'] }), 'parent-1', 'eu-west-1'));
    const record = {
      ...metaItem(child, 'SUCCEEDED', { hostCount: 4, succeeded: 4, failed: 0, endedAt: '2026-01-01T00:05:00.000Z' }),
      deploymentId: 'parent-1-eu-west-1',
    };

    await reportToParent(awsTestDeps(), record as never);

    const sent = eventbridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(sent).toMatchObject({ EventBusName: BUS, Source: 'deployctl', DetailType: 'Regional Deployment Completed' });
    expect(JSON.parse(sent?.Detail ?? '{}')).toMatchObject({
      parentId: 'parent-1',
      region: 'eu-west-1',
      phase: 'deploy',
      deploymentId: 'parent-1-eu-west-1',
      status: 'SUCCEEDED',
      hosts: 4,
      succeeded: 4,
      endedAt: '2026-01-01T00:05:00.000Z',
    });
  });

  it('puts nothing for a deployment of one region', async () => {
    await reportToParent(awsTestDeps(), metaItem(parseSpec(minimalSpecInput), 'SUCCEEDED') as never);

    expect(eventbridge).not.toHaveReceivedCommand(PutEventsCommand);
  });
});
