import { Arn, ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ManagedInstanceTag } from '#core/managed-tag.ts';
import { ALLOWED_AWS_DOCUMENTS } from '#core/spec.ts';
import { BlueGreenDeployment } from '#statemachines/blue-green.ts';
import { WaveDeployment, type WaveNames } from '#statemachines/wave-deployment.ts';
import { DeployDocument } from './deploy-document.ts';
import { DeploymentTable, tableKeyFromArn } from './deployment-table.ts';
import { DeploymentsApi } from './deployments-api.ts';
import { type MaintenanceWindow, MaintenanceWindowSchedules } from './maintenance-windows.ts';
import { type MultiRegionRole, RegionalDeployments, RegionFanOut } from './multi-region.ts';
import { DeploymentNotifications, type NotificationsConfig } from './notifications.ts';
import { Observability } from './observability.ts';
import { OrchestratorFunctionSet, type OrchestratorFunctions } from './orchestrator-functions.ts';
import { type PipelineDeployment, PipelineDeployments } from './pipeline-deployments.ts';

/** One state machine per strategy, named as the spec's `strategy.type`. */
export const STRATEGIES = ['allAtOnce', 'rolling', 'canary', 'linear', 'blueGreen'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** How each wave strategy names its waves in the console graph. */
const WAVE_NAMES: Record<Exclude<StrategyName, 'blueGreen'>, WaveNames & { title: string }> = {
  allAtOnce: { title: 'AllAtOnce', wave: 'All Hosts', waves: 'Waves', bake: 'Wait For Bake Time' },
  rolling: { title: 'Rolling', wave: 'Wave', waves: 'Waves', bake: 'Wait For Bake Time' },
  canary: { title: 'Canary', wave: 'Canary Stage', waves: 'Canary Stages', bake: 'Bake Canary Stage' },
  linear: { title: 'Linear', wave: 'Linear Step', waves: 'Linear Steps', bake: 'Wait Linear Interval' },
};

/** One region's orchestrator: table, functions, state machines and the SSM status rule. */
export interface RegionalStackProps extends StackProps {
  /** Pipelines whose successful executions start a deployment (CodePipeline entry point). @default none */
  readonly pipelines?: readonly PipelineDeployment[];
  /** Maintenance windows that start stored specs when they open (EventBridge Scheduler). @default none */
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /** Who hears about deployments: status changes sent to an SNS topic (emails, or a chat channel through AWS Chatbot). @default none */
  readonly notifications?: NotificationsConfig;
  /** ARN of an existing topic for the orchestrator fault alarms, e.g. AWS Chatbot's. @default a new encrypted topic */
  readonly alarmTopicArn?: string;
  /**
   * Multi-region: the control region and every region with a stack. Each region's stack starts its strategy
   * machines on "Regional Deployment Requested" and reports "Regional Deployment Completed" to the control
   * region, whose stack also runs the fan-out machine. Needs a concrete `env.region`.
   * @default one region, no fan-out
   */
  readonly multiRegion?: MultiRegionRole;
  /**
   * ARN of a customer managed KMS key (in this region) to encrypt the deployment table with; its key policy
   * must let this account's IAM policies grant its use.
   * @default the AWS managed key for DynamoDB
   */
  readonly tableKeyArn?: string;
  /**
   * The tag an instance must carry for deployctl to send it commands (`ssm:resourceTag` condition on SendCommand).
   * @default { key: 'deployctl:managed', value: 'true' }
   */
  readonly managedInstanceTag?: ManagedInstanceTag;
}

export class RegionalStack extends Stack {
  public readonly table: DeploymentTable;
  public readonly functions: OrchestratorFunctions;
  /** The tag an instance must carry for the functions to send it commands. */
  public readonly managedInstanceTag: ManagedInstanceTag;
  public readonly stateMachines: Record<StrategyName, sfn.StateMachine>;
  /** The HTTP API (API Gateway, IAM auth) over the deployment service. */
  public readonly api: DeploymentsApi;

  /** The CodePipeline entry point, when pipelines are configured. */
  public readonly pipelines?: PipelineDeployments;
  /** The maintenance-window schedules, when windows are configured. */
  public readonly maintenanceWindows?: MaintenanceWindowSchedules;
  /** The dashboard, the orchestrator fault alarms and their topic. */
  public readonly observability: Observability;
  /** The deployment notifications, when configured. */
  public readonly notifications?: DeploymentNotifications;
  /** Multi-region: the rules that start this region's deployments and report their end, when configured. */
  public readonly regionalDeployments?: RegionalDeployments;
  /** Multi-region: the fan-out machine and its functions, in the control region's stack only. */
  public readonly fanOut?: RegionFanOut;

  constructor(scope: Construct, id: string, props: RegionalStackProps = {}) {
    super(scope, id, props);
    this.table = new DeploymentTable(this, 'Deployments', {
      ...(props.tableKeyArn ? { encryptionKey: tableKeyFromArn(this, 'TableKey', props.tableKeyArn) } : {}),
    });
    const document = new DeployDocument(this, 'DeployDocument');
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    // Named, so that the functions that send task tokens back can be granted by ARN without a dependency cycle.
    const machineName = (strategy: StrategyName) => `${this.stackName}-${strategy}`;
    const functionSet = new OrchestratorFunctionSet(this, 'Functions', {
      table: this.table.table,
      eventBus: bus,
      deployDocumentName: document.documentName,
      stateMachineArns: STRATEGIES.map((strategy) =>
        Arn.format(
          { service: 'states', resource: 'stateMachine', resourceName: machineName(strategy), arnFormat: ArnFormat.COLON_RESOURCE_NAME },
          this,
        ),
      ),
      ...(props.managedInstanceTag ? { managedInstanceTag: props.managedInstanceTag } : {}),
    });
    this.functions = functionSet.functions;
    this.managedInstanceTag = functionSet.managedInstanceTag;

    // The /aws/vendedlogs/ prefix: CloudWatch Logs grants Step Functions such a group without growing its 5,120-character resource policy.
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${this.stackName}`,
      retention: logs.RetentionDays.ONE_MONTH,
    });
    const machine = (title: string, strategy: StrategyName, start: sfn.IChainable) =>
      new sfn.StateMachine(this, `${title}StateMachine`, {
        stateMachineName: machineName(strategy),
        definitionBody: sfn.DefinitionBody.fromChainable(start),
        comment: `deployctl: ${strategy} deployment`,
        timeout: Duration.hours(24),
        tracingEnabled: true,
        logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      });
    const machines = {} as Record<StrategyName, sfn.StateMachine>;
    for (const [strategy, names] of Object.entries(WAVE_NAMES) as [
      keyof typeof WAVE_NAMES,
      (typeof WAVE_NAMES)[keyof typeof WAVE_NAMES],
    ][]) {
      const flow = new WaveDeployment(this, names.title, { functions: this.functions, names });
      machines[strategy] = machine(names.title, strategy, flow.startState);
    }
    machines.blueGreen = machine(
      'BlueGreen',
      'blueGreen',
      new BlueGreenDeployment(this, 'BlueGreen', { functions: this.functions }).startState,
    );
    this.stateMachines = machines;

    if (props.multiRegion) {
      this.regionalDeployments = new RegionalDeployments(this, 'RegionalDeployments', {
        stateMachines: machines,
        controlRegion: props.multiRegion.controlRegion,
      });
      if (this.region === props.multiRegion.controlRegion) {
        this.fanOut = new RegionFanOut(this, 'FanOut', { table: this.table.table, eventBus: bus, regions: props.multiRegion.regions });
      }
    }
    // What the API and the CLI start: the strategies, and in the control region the fan-out for specs with regions.
    const startable: Record<string, sfn.StateMachine> = this.fanOut ? { ...machines, fanOut: this.fanOut.stateMachine } : machines;

    // SSM puts command status changes on the default bus; the callback wakes the waiting wave. Only the
    // documents deployctl sends: Patch Manager, other automation or a person at the console do not wake it.
    new events.Rule(this, 'SsmCommandStatusRule', {
      description: 'SSM Run Command status changes of deployctl documents -> deployctl callback',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Status-change Notification'],
        detail: {
          'document-name': [document.documentName, ...ALLOWED_AWS_DOCUMENTS],
          status: ['Success', 'Failed', 'TimedOut', 'Cancelled'],
        },
      },
      targets: [new targets.LambdaFunction(this.functions.commandCallback, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    // A StopExecution, a timeout or a failure outside the flow never reaches Finalize: this rule does its work.
    new events.Rule(this, 'ExecutionStatusRule', {
      description: 'deployctl executions that ended without finalizing -> record and lock',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['ABORTED', 'TIMED_OUT', 'FAILED'],
          stateMachineArn: Object.values(this.stateMachines).map((m) => m.stateMachineArn),
        },
      },
      targets: [new targets.LambdaFunction(this.functions.executionStatus, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });

    this.api = new DeploymentsApi(this, 'Api', { table: this.table.table, stateMachines: startable });
    new CfnOutput(this, 'ApiUrl', {
      description:
        'deployctl HTTP API (IAM SigV4): POST /deployments, GET /deployments/{id}, GET /deployments?app=&env=, POST /deployments/{id}/approve',
      value: this.api.url,
    });
    // What `deployctl --stack <name>` reads to find the records and start executions.
    new CfnOutput(this, 'TableName', { description: 'deployctl deployment table', value: this.table.table.tableName });
    new CfnOutput(this, 'StateMachineArns', {
      description: 'deployctl state machines by strategy (JSON)',
      value: this.toJsonString(Object.fromEntries(Object.entries(startable).map(([strategy, m]) => [strategy, m.stateMachineArn]))),
    });

    if (props.pipelines?.length) {
      this.pipelines = new PipelineDeployments(this, 'Pipelines', { pipelines: props.pipelines, stateMachines: this.stateMachines });
    }
    if (props.maintenanceWindows?.length) {
      this.maintenanceWindows = new MaintenanceWindowSchedules(this, 'MaintenanceWindows', {
        windows: props.maintenanceWindows,
        stateMachines: this.stateMachines,
      });
    }

    // After every function exists: the API and the pipeline trigger failing are orchestrator faults too.
    this.observability = new Observability(this, 'Observability', {
      functions: {
        ...this.functions,
        api: this.api.function,
        ...(this.pipelines ? { pipelineTrigger: this.pipelines.function } : {}),
        ...this.fanOut?.functions,
      },
      stateMachines: startable,
      ...(props.alarmTopicArn ? { alarmTopic: sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) } : {}),
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'deployctl CloudWatch dashboard',
      value: this.observability.dashboard.dashboardName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the orchestrator fault alarms (subscribe on-call here)',
      value: this.observability.alarmTopic.topicArn,
    });
    if (props.notifications) {
      const { topicArn, ...notifications } = props.notifications;
      this.notifications = new DeploymentNotifications(this, 'Notifications', {
        ...notifications,
        eventBus: bus,
        ...(topicArn ? { topic: sns.Topic.fromTopicArn(this, 'NotificationTopic', topicArn) } : {}),
      });
    }
  }
}
