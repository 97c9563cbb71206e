import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { ALLOWED_AWS_DOCUMENTS } from '../lambdas/core/spec.ts';
import { OrchestratorFunction } from './orchestrator-function.ts';

const FUNCTIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lambdas', 'functions');

/** Every orchestrator Lambda, by role. Keys name the handler files in lambdas/functions (kebab-cased). */
export interface OrchestratorFunctions {
  readonly validateSpec: NodejsFunction;
  readonly planWaves: NodejsFunction;
  readonly runPreChecks: NodejsFunction;
  readonly sendCommand: NodejsFunction;
  readonly commandCallback: NodejsFunction;
  readonly evaluateWave: NodejsFunction;
  readonly checkAlarms: NodejsFunction;
  readonly finalize: NodejsFunction;
  readonly checkControls: NodejsFunction;
  readonly awaitGate: NodejsFunction;
  readonly controlDeployment: NodejsFunction;
  readonly shiftTraffic: NodejsFunction;
  readonly switchBack: NodejsFunction;
  readonly executionStatus: NodejsFunction;
}

export type HandlerName = keyof OrchestratorFunctions;

const DESCRIPTIONS: Record<HandlerName, string> = {
  validateSpec: 'Validates the deployment spec, records it and takes the app+env lock',
  planWaves: 'Resolves the targets and stores the wave plan',
  runPreChecks: 'Checks hosts online, maintenance window and alarms before any change',
  sendCommand: 'Sends a wave (or the rollback) as SSM Run Command and stores the task token',
  commandCallback: 'Wakes the waiting execution when the last SSM command of a wave finishes',
  evaluateWave: 'Records per-host results and checks the error budget',
  checkAlarms: 'Alarm gate after the bake time',
  finalize: 'Terminal status, release history, lock release and status event',
  checkControls: 'Safe point before each wave: abort, pause, approval needed',
  awaitGate: 'Parks the execution for an approval or a resume, storing its task token',
  controlDeployment: 'approve, reject, abort, pause, resume of a running deployment',
  shiftTraffic: 'Blue-green: moves the ALB listener to the next traffic step',
  switchBack: 'Blue-green: sends all traffic back to blue',
  executionStatus: 'Finalizes a deployment whose execution was stopped, timed out or failed outside the flow',
};

/** What `Records` sends to DynamoDB from an orchestrator function. */
const RECORD_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
];

export interface OrchestratorFunctionsProps {
  /** The deployment table. */
  readonly table: dynamodb.ITableV2;
  /** The bus that receives "Deployment Status Change" events. */
  readonly eventBus: events.IEventBus;
  /** Name of the project's own SSM deploy document. */
  readonly deployDocumentName: string;
}

/** The orchestrator's Lambda functions, each granted only the calls its code makes. */
export class OrchestratorFunctionSet extends Construct {
  public readonly functions: OrchestratorFunctions;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionsProps) {
    super(scope, id);
    const make = (name: HandlerName, timeout?: Duration) =>
      new OrchestratorFunction(this, name[0]?.toUpperCase() + name.slice(1), {
        entry: path.join(FUNCTIONS_DIR, `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.ts`),
        description: DESCRIPTIONS[name],
        environment: { TABLE_NAME: props.table.tableName, EVENT_BUS_NAME: props.eventBus.eventBusName },
        ...(timeout ? { timeout } : {}),
      }).function;

    this.functions = {
      validateSpec: make('validateSpec'),
      planWaves: make('planWaves', Duration.minutes(5)),
      runPreChecks: make('runPreChecks', Duration.minutes(5)),
      sendCommand: make('sendCommand', Duration.minutes(5)),
      commandCallback: make('commandCallback'),
      evaluateWave: make('evaluateWave', Duration.minutes(5)),
      checkAlarms: make('checkAlarms'),
      finalize: make('finalize'),
      checkControls: make('checkControls'),
      awaitGate: make('awaitGate'),
      controlDeployment: make('controlDeployment'),
      shiftTraffic: make('shiftTraffic'),
      switchBack: make('switchBack'),
      executionStatus: make('executionStatus'),
    };

    const stack = Stack.of(this);
    // The item calls Records makes, on the table itself: no orchestrator function reads the listing index.
    const records = new iam.PolicyStatement({ actions: RECORD_ACTIONS, resources: [props.table.tableArn] });
    for (const fn of Object.values(this.functions)) fn.addToRolePolicy(records);
    const fns = this.functions;
    for (const fn of [fns.validateSpec, fns.sendCommand, fns.finalize, fns.awaitGate, fns.shiftTraffic, fns.executionStatus])
      props.eventBus.grantPutEventsTo(fn);

    const describeInstances = new iam.PolicyStatement({ actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] });
    this.functions.planWaves.addToRolePolicy(describeInstances);
    this.functions.runPreChecks.addToRolePolicy(describeInstances);

    const describeAlarms = new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] });
    this.functions.runPreChecks.addToRolePolicy(describeAlarms);
    this.functions.checkAlarms.addToRolePolicy(describeAlarms);

    this.functions.sendCommand.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: [
          ...ALLOWED_AWS_DOCUMENTS.map((name) =>
            Arn.format({ service: 'ssm', account: '', resource: 'document', resourceName: name }, stack),
          ),
          Arn.format({ service: 'ssm', resource: 'document', resourceName: props.deployDocumentName }, stack),
          Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack),
          Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack),
        ],
      }),
    );
    this.functions.evaluateWave.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:ListCommandInvocations'], resources: ['*'] }));

    // Listener ARNs come with each spec, so the resource is any listener of this account and region.
    const listeners = Arn.format({ service: 'elasticloadbalancing', resource: 'listener', resourceName: 'app/*' }, stack);
    for (const fn of [fns.shiftTraffic, fns.switchBack]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['elasticloadbalancing:ModifyListener'], resources: [listeners] }));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeListeners'], resources: ['*'] }));
    }
  }
}
