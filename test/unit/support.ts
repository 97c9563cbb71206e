import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  type DynamoDBDocumentClientResolvedConfig,
  GetCommand,
  PutCommand,
  QueryCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { AwsStub } from 'aws-sdk-client-mock';
import { CloudWatchAlarms } from '../../lambdas/adapters/aws/cloudwatch.ts';
import { EventBridgeEvents } from '../../lambdas/adapters/aws/eventbridge.ts';
import { Records } from '../../lambdas/adapters/aws/records.ts';
import { SfnCallbacks } from '../../lambdas/adapters/aws/sfn.ts';
import { SsmFleet, SsmInventory } from '../../lambdas/adapters/aws/ssm.ts';
import { type DeploymentStatus, keys } from '../../lambdas/core/records.ts';
import { type DeploymentSpec, type DeploymentSpecInput, parseSpec } from '../../lambdas/core/spec.ts';
import type { DeploymentState } from '../../lambdas/core/state.ts';
import type { Deps } from '../../lambdas/handlers/deps.ts';
import type { Clock } from '../../lambdas/ports.ts';

/** Shared fixtures for the unit tests (this file holds no tests). */

export const TABLE = 'deployctl-test';
export const BUS = 'deployctl-bus';
export const DEPLOYMENT_ID = 'dep-1';
export const NOW = new Date('2026-01-01T00:00:00Z');
export const NOW_EPOCH_SECONDS = NOW.getTime() / 1000;
export const fixedClock: Clock = { now: () => new Date(NOW) };

/** A minimal Lambda context: the Powertools logger reads these fields. */
export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'deployctl-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:deployctl-test',
  memoryLimitInMB: '512',
  awsRequestId: 'c0ffee00-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/deployctl-test',
  logStreamName: '2026/01/01/[$LATEST]0000',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

/** A valid EC2 instance id for host number n. */
export function host(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

export function hosts(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => host(from + i));
}

export const minimalSpecInput = {
  app: 'web',
  environment: 'prod',
  version: '1.2.3',
  targets: { tags: { Role: 'web' } },
} satisfies DeploymentSpecInput;

/** A parsed spec, as validate-spec stores it in the META record. */
export function specOf(overrides: Partial<DeploymentSpecInput> = {}): DeploymentSpec {
  return parseSpec({ ...minimalSpecInput, deploymentId: DEPLOYMENT_ID, ...overrides });
}

export function metaItem(spec: DeploymentSpec, status: DeploymentStatus = 'RUNNING', extra: Record<string, unknown> = {}) {
  return {
    ...keys.meta(DEPLOYMENT_ID),
    deploymentId: DEPLOYMENT_ID,
    spec,
    status,
    createdAt: '2025-12-31T23:00:00.000Z',
    updatedAt: '2025-12-31T23:00:00.000Z',
    ...extra,
  };
}

export function stateOf(overrides: Partial<DeploymentState> = {}): DeploymentState {
  return {
    deploymentId: DEPLOYMENT_ID,
    wave: 0,
    waveCount: 1,
    hostCount: 0,
    succeeded: 0,
    failed: 0,
    bakeSeconds: 0,
    waitSeconds: 720,
    ...overrides,
  };
}

/** The real AWS adapters over fresh SDK clients; tests mock the clients' prototypes. */
export function awsTestDeps(): Deps {
  const ssm = new SSMClient({});
  return {
    records: new Records(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE),
    fleet: new SsmFleet(ssm),
    inventory: new SsmInventory(ssm),
    alarms: new CloudWatchAlarms(new CloudWatchClient({})),
    callbacks: new SfnCallbacks(new SFNClient({})),
    events: new EventBridgeEvents(new EventBridgeClient({}), BUS),
    clock: fixedClock,
  };
}

/** The BatchWriteItem put requests for the test table, as the DocumentClient receives them. */
export function putRequests(...items: Record<string, unknown>[]) {
  return { [TABLE]: items.map((Item) => ({ PutRequest: { Item } })) };
}

export type TableMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;

/** Default answers of an empty table that accepts every write; tests add specific answers after this. */
export function acceptWrites(db: TableMock): void {
  db.on(GetCommand).resolves({});
  db.on(QueryCommand).resolves({ Items: [] });
  db.on(PutCommand).resolves({});
  db.on(UpdateCommand).resolves({});
  db.on(DeleteCommand).resolves({});
  db.on(BatchWriteCommand).resolves({});
}

/** The META record answers with this spec. */
export function givenDeployment(db: TableMock, spec: DeploymentSpec, status: DeploymentStatus = 'RUNNING'): void {
  db.on(GetCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({ Item: metaItem(spec, status) });
}

/** A planned wave: its hosts (one chunk) and, if sent already, its command ids. */
export function givenWave(db: TableMock, wave: number, instanceIds: readonly string[], commandIds: readonly string[] = []): void {
  db.on(QueryCommand, { ExpressionAttributeValues: { ':sk': `${keys.wave(DEPLOYMENT_ID, wave).sk}#HOSTS#` } }).resolves({
    Items: [{ ...keys.waveHosts(DEPLOYMENT_ID, wave, 0), wave, chunk: 0, instanceIds: [...instanceIds] }],
  });
  db.on(GetCommand, { Key: keys.wave(DEPLOYMENT_ID, wave) }).resolves({
    Item: {
      ...keys.wave(DEPLOYMENT_ID, wave),
      wave,
      hosts: instanceIds.length,
      ...(commandIds.length ? { commandIds: [...commandIds] } : {}),
    },
  });
}

/** Every item written by BatchWriteItem, in order. */
export function batchWrittenItems(db: TableMock): Record<string, unknown>[] {
  return db
    .commandCalls(BatchWriteCommand)
    .flatMap((call) => (call.args[0].input.RequestItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item ?? {}));
}
