import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { RollingDeployment } from '../statemachines/rolling.ts';
import { DeployDocument } from './deploy-document.ts';
import { DeploymentTable } from './deployment-table.ts';
import { OrchestratorFunctionSet, type OrchestratorFunctions } from './orchestrator-functions.ts';

/** The strategies that have a state machine today. */
export const STRATEGIES = ['rolling'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** One region's orchestrator: table, functions, state machines and the SSM status rule. */
export class RegionalStack extends Stack {
  public readonly table: DeploymentTable;
  public readonly functions: OrchestratorFunctions;
  public readonly stateMachines: Record<StrategyName, sfn.StateMachine>;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.table = new DeploymentTable(this, 'Deployments');
    const document = new DeployDocument(this, 'DeployDocument');
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.functions = new OrchestratorFunctionSet(this, 'Functions', {
      table: this.table.table,
      eventBus: bus,
      deployDocumentName: document.documentName,
    }).functions;

    const rolling = new RollingDeployment(this, 'Rolling', { functions: this.functions });
    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const rollingMachine = new sfn.StateMachine(this, 'RollingStateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(rolling.startState),
      comment: 'deployctl: rolling deployment',
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.stateMachines = { rolling: rollingMachine };

    // SSM puts command status changes on the default bus; the callback wakes the waiting wave.
    new events.Rule(this, 'SsmCommandStatusRule', {
      description: 'SSM Run Command status changes -> deployctl callback',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Status-change Notification'],
        detail: { status: ['Success', 'Failed', 'TimedOut', 'Cancelled'] },
      },
      targets: [new targets.LambdaFunction(this.functions.commandCallback, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    for (const machine of Object.values(this.stateMachines)) machine.grantTaskResponse(this.functions.commandCallback);
  }
}
