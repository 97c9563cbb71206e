import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
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
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';
import { CloudWatchAlarms } from '#adapters/aws/cloudwatch.ts';
import { ElbTraffic } from '#adapters/aws/elbv2.ts';
import { EventBridgeEvents } from '#adapters/aws/eventbridge.ts';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { SfnCallbacks } from '#adapters/aws/sfn.ts';
import { SsmChangeCalendars, SsmFleet, SsmInventory } from '#adapters/aws/ssm.ts';
import { type DeploymentStatus, keys } from '#core/records.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import type { Ports } from '#ports';
import { BUS, DEPLOYMENT_ID, fixedClock, metaItem, TABLE } from '#test/support/fixtures.ts';

/** AWS-side fixtures for the unit tests: the adapters over mocked clients and table answers (this file holds no tests). */

/** The real AWS adapters over fresh SDK clients; tests mock the clients' prototypes. */
export function awsTestDeps(): Omit<Ports, 'executions'> {
  const ssm = new SSMClient({});
  return {
    ...dynamoRecords(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE),
    fleet: new SsmFleet(ssm),
    inventory: new SsmInventory(ssm),
    calendars: new SsmChangeCalendars(ssm),
    alarms: new CloudWatchAlarms(new CloudWatchClient({})),
    callbacks: new SfnCallbacks(new SFNClient({})),
    events: new EventBridgeEvents(new EventBridgeClient({}), BUS),
    traffic: new ElbTraffic(new ElasticLoadBalancingV2Client({})),
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
  db.on(TransactWriteCommand).resolves({});
}

/** Every item written, in order: by PutItem, BatchWriteItem or in a transaction. */
function writtenItems(db: TableMock): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (const call of db.calls()) {
    const command: unknown = call.args[0];
    const written =
      command instanceof PutCommand
        ? [command.input.Item]
        : command instanceof BatchWriteCommand
          ? (command.input.RequestItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item)
          : command instanceof TransactWriteCommand
            ? (command.input.TransactItems ?? []).map((entry) => entry.Put?.Item)
            : [];
    for (const item of written) if (item) items.push(item);
  }
  return items;
}

/** Every audit event item written, in order: plain puts and the events written once (with their guard, in a transaction). */
export function auditEvents(db: TableMock): Record<string, unknown>[] {
  return writtenItems(db).filter((item) => String(item.sk).startsWith('EVENT#'));
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

/** The task-token items (CMD#) written, one by one or in batches, in the order written. */
export function commandTokenItems(db: TableMock): Record<string, unknown>[] {
  return writtenItems(db).filter((item) => String(item.pk).startsWith('CMD#'));
}

/** Every item written by BatchWriteItem, in order. */

export function batchWrittenItems(db: TableMock): Record<string, unknown>[] {
  return db
    .commandCalls(BatchWriteCommand)
    .flatMap((call) => (call.args[0].input.RequestItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item ?? {}));
}
