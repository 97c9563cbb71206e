import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEPLOYMENT_STATUSES, type StatusChangeDetail } from '#core/events.ts';
import { DeploymentNotifications, type DeploymentNotificationsProps, type NotifiedStatus } from '#lib/notifications.ts';
import { ACCOUNT, type Json, logicalIdOf, REGION, regionalStack } from '#test/infra/synth.ts';

function build(props: DeploymentNotificationsProps = {}): { stack: Stack; notifications: DeploymentNotifications; template: Template } {
  const stack = new Stack(new App(), 'Notified', { env: { account: ACCOUNT, region: REGION } });
  const notifications = new DeploymentNotifications(stack, 'Notifications', props);
  return { stack, notifications, template: Template.fromStack(stack) };
}

const Target = z.looseObject({
  Arn: z.unknown(),
  InputTransformer: z.object({ InputPathsMap: z.record(z.string(), z.string()), InputTemplate: z.string() }),
});
const RuleProperties = z.looseObject({ EventPattern: z.record(z.string(), z.unknown()), Targets: z.array(Target), State: z.string() });

function ruleOf(built: { notifications: DeploymentNotifications; template: Template }): z.infer<typeof RuleProperties> {
  const rule = built.template.findResources('AWS::Events::Rule')[logicalIdOf(built.notifications.rule)];
  return RuleProperties.parse(rule?.Properties);
}

/** An EventBridge event as deployctl puts it (lambdas/adapters/aws/eventbridge.ts). */
function statusEvent(detail: Partial<StatusChangeDetail>): Json {
  return {
    version: '0',
    id: 'c0ffee',
    source: 'deployctl',
    'detail-type': 'Deployment Status Change',
    account: ACCOUNT,
    region: REGION,
    time: '2026-03-01T12:00:00Z',
    resources: [],
    detail: { deploymentId: 'dep-123', app: 'web', environment: 'prod', version: '1.4.2', status: 'SUCCEEDED', ...detail },
  };
}

/** Whether an event pattern of exact values matches an event, as EventBridge decides it. */
function matches(pattern: unknown, event: Json): boolean {
  if (Array.isArray(pattern)) return pattern.some((value) => value === event);
  if (pattern === null || typeof pattern !== 'object') throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  return Object.entries(pattern).every(([key, sub]) => key in event && matches(sub, event[key] as Json));
}

/** What the input transformer sends to the topic for an event: each `<name>` replaced by its path's value. */
function transform(target: z.infer<typeof Target>, event: Json): unknown {
  const valueAt = (path: string): Json => {
    let node: Json = event;
    for (const key of path.replace(/^\$\./, '').split('.'))
      node = node && typeof node === 'object' && !Array.isArray(node) ? (node[key] as Json) : null;
    return node;
  };
  const { InputPathsMap, InputTemplate } = target.InputTransformer;
  const filled = InputTemplate.replace(/<([\w-]+)>/g, (placeholder, name: string) => {
    const path = InputPathsMap[name];
    if (!path) throw new Error(`${placeholder} has no input path`);
    return String(valueAt(path));
  });
  return filled;
}

describe('DeploymentNotifications', () => {
  it('listens on the default bus to deployctl status changes that end a deployment or wait for an approval', () => {
    const built = build();
    const rule = ruleOf(built);
    expect(rule.State).toBe('ENABLED');
    expect(
      built.template.findResources('AWS::Events::Rule')[logicalIdOf(built.notifications.rule)]?.Properties.EventBusName,
    ).toBeUndefined();
    expect(rule.EventPattern).toEqual({
      source: ['deployctl'],
      'detail-type': ['Deployment Status Change'],
      detail: { status: ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED', 'AWAITING_APPROVAL'] },
    });
    const notified = DEPLOYMENT_STATUSES.filter((status) => matches(rule.EventPattern, statusEvent({ status })));
    expect(notified).toEqual(['AWAITING_APPROVAL', 'SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED']);
  });

  it('ignores events of another source or detail type', () => {
    const rule = ruleOf(build());
    const event = statusEvent({ status: 'FAILED' }) as Record<string, Json>;
    expect(matches(rule.EventPattern, event)).toBe(true);
    expect(matches(rule.EventPattern, { ...event, source: 'aws.states' })).toBe(false);
    expect(matches(rule.EventPattern, { ...event, 'detail-type': 'Deployment Wave Change' })).toBe(false);
  });

  it('narrows to the statuses, apps and environments it is given', () => {
    const statuses: NotifiedStatus[] = ['FAILED', 'ROLLED_BACK'];
    const rule = ruleOf(build({ statuses, apps: ['web', 'api'], environments: ['prod'] }));
    expect(rule.EventPattern.detail).toEqual({ status: statuses, app: ['web', 'api'], environment: ['prod'] });
    expect(matches(rule.EventPattern, statusEvent({ status: 'FAILED', app: 'api' }))).toBe(true);
    expect(matches(rule.EventPattern, statusEvent({ status: 'SUCCEEDED', app: 'api' }))).toBe(false);
    expect(matches(rule.EventPattern, statusEvent({ status: 'FAILED', app: 'batch' }))).toBe(false);
    expect(matches(rule.EventPattern, statusEvent({ status: 'FAILED', environment: 'staging' }))).toBe(false);
  });

  it('sends the topic one readable line: app, version, environment, status and deployment id', () => {
    const built = build();
    const [target] = ruleOf(built).Targets;
    if (!target) throw new Error('no target');
    expect(target.Arn).toEqual({ Ref: logicalIdOf(built.notifications.topic as sns.Topic) });
    // Plain text, not a quoted JSON string: what the topic sends is the text itself.
    expect(target.InputTransformer).toEqual({
      InputTemplate: '<app> <version> to <environment>: <status> (<deploymentId>)',
      InputPathsMap: {
        app: '$.detail.app',
        version: '$.detail.version',
        environment: '$.detail.environment',
        status: '$.detail.status',
        deploymentId: '$.detail.deploymentId',
      },
    });
    expect(transform(target, statusEvent({ status: 'ROLLED_BACK' }))).toBe('web 1.4.2 to prod: ROLLED_BACK (dep-123)');
    expect(transform(target, statusEvent({ app: 'api', environment: 'staging', version: '2026.03.1', deploymentId: 'x-9' }))).toBe(
      'api 2026.03.1 to staging: SUCCEEDED (x-9)',
    );
  });

  it('subscribes each email address to the topic', () => {
    const built = build({ emails: ['ops@example.com', 'release-managers@example.com'] });
    const topic = { Ref: logicalIdOf(built.notifications.topic as sns.Topic) };
    built.template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['ops@example.com', 'release-managers@example.com'])
      built.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: topic });
  });

  it('creates a topic encrypted with a rotating customer managed key that EventBridge may use, refusing publishing without TLS', () => {
    const built = build();
    const { topicKey } = built.notifications;
    if (!topicKey) throw new Error('no topic key');
    const topic = logicalIdOf(built.notifications.topic as sns.Topic);
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(topicKey), 'Arn'] } });
    const key = built.template.findResources('AWS::KMS::Key')[logicalIdOf(topicKey)];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(key?.Properties.KeyPolicy.Statement).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
          }),
        ]),
      },
    });
  });

  it('notifies an existing topic instead (for AWS Chatbot), creating no topic or key, and subscribes the emails to it', () => {
    const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:chatbot-deployments`;
    const stack = new Stack(new App(), 'Notified', { env: { account: ACCOUNT, region: REGION } });
    const notifications = new DeploymentNotifications(stack, 'Notifications', {
      topic: sns.Topic.fromTopicArn(stack, 'Chatbot', arn),
      emails: ['ops@example.com'],
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(notifications.topicKey).toBeUndefined();
    expect(ruleOf({ notifications, template }).Targets.map((target) => target.Arn)).toEqual([arn]);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: arn });
  });

  it('refuses a configuration that would notify nothing or cannot be delivered', () => {
    expect(() => build({ statuses: [] })).toThrow(/statuses is empty/);
    expect(() => build({ statuses: ['DONE' as NotifiedStatus] })).toThrow(/unknown status 'DONE'/);
    expect(() => build({ apps: [] })).toThrow(/apps must name at least one/);
    expect(() => build({ environments: [' '] })).toThrow(/environments must name at least one/);
    expect(() => build({ emails: ['ops.example.com'] })).toThrow(/'ops.example.com' is not an email address/);
  });
});

describe('the regional stack’s notifications', () => {
  it('are absent unless configured', () => {
    const { stack } = regionalStack();
    expect(stack.notifications).toBeUndefined();
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::Events::Rule'))).not.toContain('"deployctl"');
  });

  it('listen on the bus the functions put their events on, and can notify an existing topic named by its ARN', () => {
    const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:chatbot-deployments`;
    const { stack } = regionalStack({}, { notifications: { topicArn: arn, environments: ['prod'] } });
    const notifications = stack.notifications;
    if (!notifications) throw new Error('no notifications');
    const template = Template.fromStack(stack);
    const rule = template.findResources('AWS::Events::Rule')[logicalIdOf(notifications.rule)]?.Properties;
    expect(rule?.EventBusName).toBe('default');
    expect(rule?.EventPattern.detail.environment).toEqual(['prod']);
    expect(rule?.Targets.map((target: { Arn: unknown }) => target.Arn)).toEqual([arn]);
    // The functions announce on the same bus.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: 'default' }) },
    });
  });
});
