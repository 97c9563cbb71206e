import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEPLOYMENT_STATUSES, EVENT_SOURCE, type StatusChangeDetail } from '#core/events.ts';

export type NotifiedStatus = StatusChangeDetail['status'];

/** The statuses people act on: a deployment's end, and an approval it waits for. */
export const DEFAULT_NOTIFIED_STATUSES: readonly NotifiedStatus[] = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED', 'AWAITING_APPROVAL'];

export const STATUS_CHANGE_DETAIL_TYPE = 'Deployment Status Change';

export interface DeploymentNotificationsProps {
  /** The bus deployctl puts its events on. @default the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** The statuses to notify. @default SUCCEEDED, FAILED, ROLLED_BACK, ABORTED and AWAITING_APPROVAL */
  readonly statuses?: readonly NotifiedStatus[];
  /** Only these apps. @default every app */
  readonly apps?: readonly string[];
  /** Only these environments. @default every environment */
  readonly environments?: readonly string[];
  /** Email addresses to subscribe (each confirms its subscription by email). @default none */
  readonly emails?: readonly string[];
  /**
   * An existing topic to notify, e.g. one AWS Chatbot forwards to Slack, Teams or Chime. EventBridge is
   * granted publishing on a topic defined in this app; an imported one must allow it (and its key) itself.
   * @default a new topic, encrypted with its own KMS key and TLS-only
   */
  readonly topic?: sns.ITopic;
}

/** Notifications as configured in cdk.json: the construct's props, with an existing topic named by its ARN. */
export interface NotificationsConfig extends Omit<DeploymentNotificationsProps, 'eventBus' | 'topic'> {
  /** ARN of an existing topic to notify, e.g. one AWS Chatbot forwards to a channel. @default a new encrypted topic */
  readonly topicArn?: string;
}

/**
 * Tells people about deployments: an EventBridge rule on deployctl's
 * "Deployment Status Change" events, filtered by status, app and environment,
 * sends a one-line message ("web 1.4.2 to prod: SUCCEEDED (dep-123)") to an
 * SNS topic, to which emails or a chat channel (AWS Chatbot) subscribe.
 */
export class DeploymentNotifications extends Construct {
  public readonly rule: events.Rule;
  /** The topic notified: the one given, or the one created. */
  public readonly topic: sns.ITopic;
  /** The key of the created topic (undefined when a topic was given). */
  public readonly topicKey?: kms.Key;

  constructor(scope: Construct, id: string, props: DeploymentNotificationsProps = {}) {
    super(scope, id);
    const statuses = props.statuses ?? DEFAULT_NOTIFIED_STATUSES;
    const known: readonly string[] = DEPLOYMENT_STATUSES;
    if (statuses.length === 0) throw new Error(`DeploymentNotifications ${id}: statuses is empty, so nothing would be notified`);
    for (const status of statuses)
      if (!known.includes(status))
        throw new Error(`DeploymentNotifications ${id}: unknown status '${status}' (one of ${known.join(', ')})`);
    for (const [name, values] of [
      ['apps', props.apps],
      ['environments', props.environments],
    ] as const)
      if (values && (values.length === 0 || values.some((value) => value.trim() === '')))
        throw new Error(`DeploymentNotifications ${id}: ${name} must name at least one, and no empty name (leave it out for all)`);
    for (const email of props.emails ?? [])
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new Error(`DeploymentNotifications ${id}: '${email}' is not an email address`);

    if (props.topic) {
      this.topic = props.topic;
    } else {
      // A key of our own: EventBridge cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns).
      this.topicKey = new kms.Key(this, 'TopicKey', { description: 'deployctl deployment notifications topic', enableKeyRotation: true });
      // EventBridge's calls to KMS carry no aws:SourceArn or aws:SourceAccount, so the grant cannot be conditioned on them.
      this.topicKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
      this.topic = new sns.Topic(this, 'Topic', {
        displayName: 'deployctl deployments',
        masterKey: this.topicKey,
        enforceSSL: true,
      });
    }
    for (const email of props.emails ?? []) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    this.rule = new events.Rule(this, 'Rule', {
      description: 'deployctl deployment status changes -> notification topic',
      ...(props.eventBus ? { eventBus: props.eventBus } : {}),
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [STATUS_CHANGE_DETAIL_TYPE],
        detail: {
          status: [...statuses],
          ...(props.apps ? { app: [...props.apps] } : {}),
          ...(props.environments ? { environment: [...props.environments] } : {}),
        },
      },
      targets: [
        new targets.SnsTopic(this.topic, {
          message: new PlainTextInput('<app> <version> to <environment>: <status> (<deploymentId>)'),
        }),
      ],
    });
  }
}

/**
 * An input template that is plain text, each `<name>` the event's
 * `$.detail.<name>` (the form of InputTransformer's documented example,
 * "<instance> is in state <status>"). RuleTargetInput.fromText renders its
 * text as a JSON string, quotes included, and the topic's emails would show them.
 */
class PlainTextInput extends events.RuleTargetInput {
  constructor(private readonly template: string) {
    super();
  }

  override bind(): events.RuleTargetInputProperties {
    const names = [...this.template.matchAll(/<(\w+)>/g)].map((match) => match[1] as keyof StatusChangeDetail);
    return {
      inputTemplate: this.template,
      inputPathsMap: Object.fromEntries(names.map((name) => [name, `$.detail.${name}`])),
    };
  }
}
