import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The CloudWatch namespace of the handlers' metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'Deployctl';

/**
 * The dimensions of every deployctl metric: Powertools adds `service`
 * (deployctl), the handlers add `app` and `environment`. A SEARCH schema
 * matches metrics with exactly these dimension names.
 */
export const METRIC_DIMENSIONS = ['app', 'environment', 'service'] as const;

/** The custom metrics the handlers emit, by what they count or measure. */
export const DEPLOYCTL_METRICS = {
  started: 'DeploymentsStarted',
  succeeded: 'DeploymentsSucceeded',
  failed: 'DeploymentsFailed',
  rolledBack: 'DeploymentsRolledBack',
  aborted: 'DeploymentsAborted',
  deploymentDuration: 'DeploymentDurationSeconds',
  waveDuration: 'WaveDurationSeconds',
  hostsDeployed: 'HostsDeployed',
  hostCommandFailures: 'HostCommandFailures',
  leadTime: 'LeadTimeSeconds',
  timeToRestore: 'TimeToRestoreSeconds',
  callbackTimeouts: 'CallbackTimeouts',
} as const;

/** Faults are counted over five minutes: one is enough to page. */
const FAULT_PERIOD = Duration.minutes(5);
const HOUR = Duration.hours(1);
const DAY = Duration.days(1);

export interface ObservabilityProps {
  /** The functions whose Errors and Throttles are orchestrator faults, by name (alarm ids and graph labels). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The deployment state machines, by strategy. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * The dashboard's name. Dashboards are global to the account, so the default names the region.
   * @default `<stack name>-<region>`
   */
  readonly dashboardName?: string;
  /**
   * Where the alarms notify, e.g. a topic AWS Chatbot forwards to a channel. A topic defined in this
   * app is granted publishing by CloudWatch; an imported one must allow it (and its key, if encrypted) itself.
   * @default a new topic, encrypted with its own KMS key and TLS-only
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The deployctl dashboard (deployments, durations, hosts, orchestrator faults,
 * DORA figures) and the alarms on orchestrator faults, which notify an SNS topic.
 *
 * Deployments that fail are not faults: a deployment that rolls back ends its
 * execution FAILED through a Fail state, so ExecutionsFailed is graphed nowhere
 * as a fault and alarmed on never. Faults are the orchestrator itself going
 * wrong: a function error, an execution timed out or throttled, an SSM
 * callback that never came.
 */
export class Observability extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every fault alarm: one per function (Errors), two per state machine (timed out, throttled), one for callback timeouts. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  /** The topic the alarms notify: the one given, or the one created. */
  public readonly alarmTopic: sns.ITopic;
  /** The key of the created topic (undefined when a topic was given). */
  public readonly alarmTopicKey?: kms.Key;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const functions = Object.entries(props.functions);
    const machines = Object.entries(props.stateMachines);
    if (functions.length === 0) throw new Error(`Observability ${id}: no functions to watch`);
    if (machines.length === 0) throw new Error(`Observability ${id}: no state machines to watch`);
    for (const [name] of [...functions, ...machines])
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`Observability ${id}: '${name}' is not an alphanumeric name`);

    const stack = Stack.of(this);
    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      // A key of our own: CloudWatch cannot publish to a topic encrypted with the AWS managed key (alias/aws/sns),
      // whose policy cannot grant it kms:GenerateDataKey*.
      this.alarmTopicKey = new kms.Key(this, 'AlarmTopicKey', {
        description: 'deployctl orchestrator alarm topic',
        enableKeyRotation: true,
      });
      this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
        displayName: 'deployctl orchestrator alarms',
        masterKey: this.alarmTopicKey,
        enforceSSL: true,
      });
    }
    // CloudWatch publishes as its service principal, on behalf of this account's alarms only.
    const fromAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromAlarms,
      }),
    );
    this.alarmTopicKey?.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromAlarms,
      }),
    );

    this.alarms = this.faultAlarms(props);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboards are global to the account: the region keeps two regions' names apart, once (Deployctl-eu-west-1 has it already).
      dashboardName:
        props.dashboardName ?? (stack.stackName.endsWith(`-${stack.region}`) ? stack.stackName : `${stack.stackName}-${stack.region}`),
      // SEARCH finds only metrics that reported in the last two weeks: the default range stays within them.
      defaultInterval: Duration.days(14),
      widgets: dashboardRows(props, this.alarms),
    });
  }

  private faultAlarms(props: ObservabilityProps): cloudwatch.Alarm[] {
    const action = new actions.SnsAction(this.alarmTopic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No data is no fault: most of the time nothing runs.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      return created;
    };
    const sum = { period: FAULT_PERIOD, statistic: cloudwatch.Stats.SUM };

    const alarms: cloudwatch.Alarm[] = [];
    for (const [name, fn] of Object.entries(props.functions))
      alarms.push(
        alarm(
          `${pascal(name)}ErrorsAlarm`,
          fn.metricErrors(sum),
          `deployctl ${name} function failed (an uncaught error or a timeout): a deployment may be stuck or unrecorded; see its log group and X-Ray traces`,
        ),
      );
    for (const [strategy, machine] of Object.entries(props.stateMachines)) {
      alarms.push(
        alarm(
          `${pascal(strategy)}TimedOutAlarm`,
          machine.metricTimedOut(sum),
          `deployctl ${strategy} execution timed out: it never reached Finalize; the execution status rule records it and releases the lock`,
        ),
        alarm(
          `${pascal(strategy)}ThrottledAlarm`,
          machine.metricThrottled(sum),
          `deployctl ${strategy} executions were throttled by Step Functions: deployments start or advance late`,
        ),
      );
    }
    // Metrics Insights: one series over every app and environment, whatever the dimensions the metric carries
    // (an alarm cannot use SEARCH).
    alarms.push(
      alarm(
        'CallbackTimeoutsAlarm',
        new cloudwatch.MathExpression({
          expression: `SELECT SUM(${DEPLOYCTL_METRICS.callbackTimeouts}) FROM "${METRICS_NAMESPACE}"`,
          label: 'SSM callbacks timed out',
          period: FAULT_PERIOD,
        }),
        'deployctl waited for an SSM command status callback until its timeout: a command status event was lost or the callback failed',
      ),
    );
    return alarms;
  }
}

/** PascalCase of a camelCase name, for construct ids. */
const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * The handlers' metrics carry `app` and `environment` dimensions whose values
 * vary per deployment, so the dashboard finds them with SEARCH over the exact
 * schema `{Deployctl,app,environment,service}` instead of naming each pair:
 * `SUM(SEARCH(...))` for fleet-wide counts, and one series per app and
 * environment for percentiles (percentiles cannot be added up across series,
 * and per-pair durations are the meaningful ones). Alarms cannot use SEARCH;
 * the one alarm on a custom metric uses a Metrics Insights query instead.
 */
function search(metricName: string, statistic: string, period: Duration): string {
  return `SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.join(',')}} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`;
}

/** A fleet-wide total: the sum over every app and environment. */
function total(metricName: string, label: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: `SUM(${search(metricName, 'Sum', period)})`, label, period });
}

/** One series per app and environment, labelled with both. */
function perTarget(metricName: string, statistic: string, label: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: search(metricName, statistic, period),
    label: `${label} \${PROP('Dim.app')} \${PROP('Dim.environment')}`,
    period,
  });
}

/** The outcomes that end a deployment. */
const FINISHED = ['succeeded', 'failed', 'rolledBack', 'aborted'] as const;
type Finished = (typeof FINISHED)[number];

/**
 * A percentage of finished deployments: 100 * sum(numerator) / (succeeded +
 * failed + rolled back + aborted). Each total is filled with 0 where it has no
 * data, so that a period without, say, rollbacks still has a rate.
 */
function rateOfFinished(numerator: readonly Finished[], label: string): cloudwatch.MathExpression {
  const usingMetrics = Object.fromEntries(FINISHED.map((key) => [key, total(DEPLOYCTL_METRICS[key], key, DAY)]));
  const filled = (keys: readonly string[]) => keys.map((key) => `FILL(${key}, 0)`).join(' + ');
  return new cloudwatch.MathExpression({
    expression: `100 * (${filled(numerator)}) / (${filled(FINISHED)})`,
    usingMetrics,
    label,
    period: DAY,
  });
}

function dashboardRows(props: ObservabilityProps, alarms: readonly cloudwatch.Alarm[]): cloudwatch.IWidget[][] {
  const m = DEPLOYCTL_METRICS;
  const seconds = { label: 'seconds', showUnits: false };
  const percent = { label: '%', min: 0, max: 100, showUnits: false };
  const count = { min: 0, showUnits: false };
  const graph = (props: cloudwatch.GraphWidgetProps) => new cloudwatch.GraphWidget({ width: 12, height: 6, ...props });
  const fault = { period: FAULT_PERIOD, statistic: cloudwatch.Stats.SUM };
  const functions = Object.entries(props.functions);
  const machines = Object.entries(props.stateMachines);

  return [
    [
      new cloudwatch.TextWidget({
        markdown:
          "# deployctl\nDeployments by outcome, durations and hosts come from the handlers' metrics (namespace `Deployctl`, every app and environment); orchestrator faults from Lambda and Step Functions. A failed or rolled-back deployment is an outcome, not a fault.",
        width: 24,
        height: 2,
      }),
    ],
    [new cloudwatch.AlarmStatusWidget({ title: 'Orchestrator fault alarms', alarms: [...alarms], width: 24, height: 4 })],
    [
      graph({
        title: 'Deployments (per hour)',
        left: [
          total(m.started, 'Started', HOUR),
          total(m.succeeded, 'Succeeded', HOUR),
          total(m.failed, 'Failed', HOUR),
          total(m.rolledBack, 'Rolled back', HOUR),
          total(m.aborted, 'Aborted', HOUR),
        ],
        leftYAxis: count,
      }),
      graph({
        title: 'Success rate (% of finished deployments, per day)',
        left: [rateOfFinished(['succeeded'], 'Success rate')],
        leftYAxis: percent,
      }),
    ],
    [
      graph({
        title: 'Deployment duration (p50, p90)',
        left: [perTarget(m.deploymentDuration, 'p50', 'p50', HOUR), perTarget(m.deploymentDuration, 'p90', 'p90', HOUR)],
        leftYAxis: seconds,
      }),
      graph({
        title: 'Wave duration (p50, p90)',
        left: [perTarget(m.waveDuration, 'p50', 'p50', HOUR), perTarget(m.waveDuration, 'p90', 'p90', HOUR)],
        leftYAxis: seconds,
      }),
    ],
    [
      graph({
        title: 'Rollbacks (per day)',
        left: [perTarget(m.rolledBack, 'Sum', 'Rolled back', DAY)],
        view: cloudwatch.GraphWidgetView.BAR,
        leftYAxis: count,
      }),
      graph({
        title: 'Hosts deployed and command failures (per hour)',
        left: [total(m.hostsDeployed, 'Hosts deployed', HOUR), total(m.hostCommandFailures, 'Command failures', HOUR)],
        leftYAxis: count,
      }),
    ],
    [
      graph({
        title: 'Orchestrator function errors and throttles',
        left: functions.map(([name, fn]) => fn.metricErrors({ ...fault, label: `${name} errors` })),
        right: functions.map(([name, fn]) => fn.metricThrottles({ ...fault, label: `${name} throttles` })),
        leftYAxis: { ...count, label: 'errors' },
        rightYAxis: { ...count, label: 'throttles' },
      }),
      graph({
        title: 'Executions timed out, throttled, aborted; SSM callbacks timed out',
        left: [
          ...machines.flatMap(([strategy, machine]) => [
            machine.metricTimedOut({ ...fault, label: `${strategy} timed out` }),
            machine.metricThrottled({ ...fault, label: `${strategy} throttled` }),
            machine.metricAborted({ ...fault, label: `${strategy} aborted` }),
          ]),
          total(m.callbackTimeouts, 'SSM callbacks timed out', FAULT_PERIOD),
        ],
        leftYAxis: count,
      }),
    ],
    [
      new cloudwatch.TextWidget({
        markdown:
          "## DORA\nDeployment frequency is successful deployments per day; change failure rate is failed and rolled-back deployments as a share of finished ones (aborted ones count as finished, not failed); lead time runs from the commit to the deployment's success; time to restore from a failed release to the next successful one.",
        width: 24,
        height: 2,
      }),
    ],
    [
      graph({
        title: 'Deployment frequency (successful deployments per day)',
        left: [total(m.succeeded, 'Deployments succeeded', DAY)],
        view: cloudwatch.GraphWidgetView.BAR,
        leftYAxis: count,
        width: 6,
      }),
      graph({
        title: 'Change failure rate (% per day)',
        left: [rateOfFinished(['failed', 'rolledBack'], 'Change failure rate')],
        leftYAxis: percent,
        width: 6,
      }),
      graph({ title: 'Lead time for changes (p50)', left: [perTarget(m.leadTime, 'p50', 'p50', DAY)], leftYAxis: seconds, width: 6 }),
      graph({
        title: 'Time to restore service (p50)',
        left: [perTarget(m.timeToRestore, 'p50', 'p50', DAY)],
        leftYAxis: seconds,
        width: 6,
      }),
    ],
  ];
}
