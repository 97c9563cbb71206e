import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { flatten, type TemplateJson } from '#test/infra/least-privilege.ts';
import { ACCOUNT, ENTRY_POINTS, type Json, logicalIdOf, REGION, regionalStack } from '#test/infra/synth.ts';

const TABLE_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/6d1f0c2e-7b3a-4c59-9e8d-2a1b3c4d5e6f`;

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, Json>;
  readonly DeletionPolicy?: string;
}

let defaults: Template;
/** Every optional part that adds data or logs: entry points (pipeline DLQ, notification topic), a table key, the fan-out. */
let everything: Template;
let everythingTableId: string;

beforeAll(() => {
  defaults = Template.fromStack(regionalStack().stack);
  const { stack } = regionalStack(
    {},
    { ...ENTRY_POINTS, tableKeyArn: TABLE_KEY_ARN, multiRegion: { controlRegion: REGION, regions: [REGION, 'us-east-1'] } },
  );
  everything = Template.fromStack(stack);
  everythingTableId = logicalIdOf(stack.table.table);
});

const resourcesOf = (template: Template, type: string): [string, Resource][] =>
  Object.entries((template.toJSON() as TemplateJson).Resources ?? {}).filter(([, r]) => r.Type === type) as [string, Resource][];

const replicaOf = (template: Template) => {
  const tables = resourcesOf(template, 'AWS::DynamoDB::GlobalTable');
  expect(tables).toHaveLength(1);
  const replicas = tables[0]?.[1].Properties.Replicas as Record<string, Json>[];
  expect(replicas).toHaveLength(1);
  return replicas[0] ?? {};
};

describe('the deployment table', () => {
  it('is encrypted with the AWS managed key for DynamoDB unless a key is given', () => {
    const [[, table] = ['', undefined]] = resourcesOf(defaults, 'AWS::DynamoDB::GlobalTable');
    expect(table?.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(replicaOf(defaults).SSESpecification).toBeUndefined();
  });

  it('is encrypted with the customer managed key named by tableKeyArn', () => {
    const table = resourcesOf(everything, 'AWS::DynamoDB::GlobalTable').find(([id]) => id === everythingTableId)?.[1];
    expect(table?.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(replicaOf(everything).SSESpecification).toEqual({ KMSMasterKeyId: TABLE_KEY_ARN });
  });

  it.each([
    ['the default', () => defaults],
    ['the customer managed key', () => everything],
  ])('keeps point-in-time recovery and deletion protection on, and is retained, with %s encryption', (_, template) => {
    const replica = replicaOf(template());
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(replica.DeletionProtectionEnabled).toBe(true);
    expect(resourcesOf(template(), 'AWS::DynamoDB::GlobalTable')[0]?.[1].DeletionPolicy).toBe('Retain');
  });

  it.each([
    [`arn:aws:kms:${REGION}:${ACCOUNT}:alias/deployctl`, /tableKeyArn: .* is not a KMS key ARN/],
    ['6d1f0c2e-7b3a-4c59-9e8d-2a1b3c4d5e6f', /tableKeyArn: .* is not a KMS key ARN/],
    [`arn:aws:kms:us-east-1:${ACCOUNT}:key/6d1f0c2e-7b3a-4c59-9e8d-2a1b3c4d5e6f`, /the key is in us-east-1, but the table is in eu-west-1/],
  ])('refuses the table key %s at synthesis, saying why', (tableKeyArn, message) => {
    expect(() => regionalStack({}, { tableKeyArn })).toThrow(message);
  });
});

describe('the log groups', () => {
  it('all have a retention period, in every configuration', () => {
    for (const template of [defaults, everything]) {
      const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
      expect(groups.length).toBeGreaterThan(0);
      for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toEqual(expect.any(Number));
    }
  });

  it('are where every function, state machine and API stage logs, so that nothing logs to a group created without retention', () => {
    const groups = new Set(resourcesOf(everything, 'AWS::Logs::LogGroup').map(([id]) => id));
    const targets = [
      ...resourcesOf(everything, 'AWS::Lambda::Function').map(([id, fn]) => [
        id,
        flatten((fn.Properties.LoggingConfig as { LogGroup?: Json })?.LogGroup),
      ]),
      ...resourcesOf(everything, 'AWS::StepFunctions::StateMachine').map(([id, machine]) => {
        const config = machine.Properties.LoggingConfiguration as { Destinations?: { CloudWatchLogsLogGroup: { LogGroupArn: Json } }[] };
        return [id, flatten(config?.Destinations?.[0]?.CloudWatchLogsLogGroup.LogGroupArn)];
      }),
      ...resourcesOf(everything, 'AWS::ApiGateway::Stage').map(([id, stage]) => [
        id,
        flatten((stage.Properties.AccessLogSetting as { DestinationArn?: Json })?.DestinationArn),
      ]),
    ];
    expect(targets.length).toBeGreaterThan(20);
    for (const [id, target] of targets)
      expect(groups.has(/^<(\w+)(\.Arn)?>$/.exec(target ?? '')?.[1] ?? ''), `${id} logs to ${target}`).toBe(true);
  });
});

describe('the queues and topics', () => {
  it('encrypt every queue and refuse requests without TLS', () => {
    const queues = resourcesOf(everything, 'AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    const policies = resourcesOf(everything, 'AWS::SQS::QueuePolicy');
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled === true || queue.Properties.KmsMasterKeyId !== undefined, id).toBe(true);
      const statements = policies
        .filter(([, p]) => (p.Properties.Queues as Json[]).some((q) => flatten(q) === `<${id}>`))
        .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Record<string, Json>[] }).Statement);
      expect(statements, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('encrypt every topic with a KMS key and refuse publishing without TLS', () => {
    const topics = resourcesOf(everything, 'AWS::SNS::Topic');
    expect(topics.length).toBeGreaterThanOrEqual(2);
    const policies = resourcesOf(everything, 'AWS::SNS::TopicPolicy');
    for (const [id, topic] of topics) {
      expect(topic.Properties.KmsMasterKeyId, id).toBeDefined();
      const statements = policies
        .filter(([, p]) => (p.Properties.Topics as Json[]).some((t) => flatten(t) === `<${id}>`))
        .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Record<string, Json>[] }).Statement);
      expect(statements, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});
