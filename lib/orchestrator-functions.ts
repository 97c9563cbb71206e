import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { DEFAULT_MANAGED_TAG, ManagedInstanceTag } from '../lambdas/core/managed-tag.ts';
import { ALLOWED_AWS_DOCUMENTS } from '../lambdas/core/spec.ts';
import { grantTableCalls, type TableCall } from './deployment-table.ts';
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

/** The calls a function may be granted besides its table calls; each maps to one resource below. */
type ServiceCall =
  | 'events:PutEvents'
  | 'states:SendTaskSuccess'
  | 'states:SendTaskFailure'
  | 'ssm:SendCommand'
  | 'ssm:ListCommands'
  | 'ssm:ListCommandInvocations'
  | 'ssm:DescribeInstanceInformation'
  | 'cloudwatch:DescribeAlarms'
  | 'elasticloadbalancing:DescribeListeners'
  | 'elasticloadbalancing:ModifyListener';

interface FunctionCalls {
  /** DynamoDB item calls on the deployment table. */
  readonly table: readonly TableCall[];
  readonly services?: readonly ServiceCall[];
}

const RECORD_READ_WRITE: readonly TableCall[] = ['GetItem', 'PutItem', 'UpdateItem'];

/**
 * Exactly the AWS calls each function's code makes. test/infra/iam-coverage.test.ts
 * derives the same from the code (every SDK command each entry can reach) and
 * fails on a call without its grant here, or a grant here without a call.
 */
const CALLS: Record<HandlerName, FunctionCalls> = {
  validateSpec: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
  planWaves: { table: [...RECORD_READ_WRITE, 'BatchWriteItem'], services: ['ssm:DescribeInstanceInformation'] },
  runPreChecks: {
    table: [...RECORD_READ_WRITE, 'Query'],
    services: ['events:PutEvents', 'ssm:DescribeInstanceInformation', 'cloudwatch:DescribeAlarms'],
  },
  sendCommand: {
    table: [...RECORD_READ_WRITE, 'Query', 'BatchWriteItem'],
    services: ['ssm:SendCommand', 'ssm:ListCommands', 'states:SendTaskSuccess', 'events:PutEvents'],
  },
  commandCallback: { table: ['GetItem', 'UpdateItem'], services: ['states:SendTaskSuccess'] },
  evaluateWave: {
    table: [...RECORD_READ_WRITE, 'Query', 'BatchWriteItem'],
    services: ['ssm:ListCommandInvocations', 'events:PutEvents'],
  },
  checkAlarms: { table: ['GetItem', 'PutItem'], services: ['cloudwatch:DescribeAlarms'] },
  finalize: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
  checkControls: { table: ['GetItem'] },
  awaitGate: { table: RECORD_READ_WRITE, services: ['states:SendTaskSuccess', 'events:PutEvents'] },
  controlDeployment: { table: RECORD_READ_WRITE, services: ['states:SendTaskSuccess', 'states:SendTaskFailure'] },
  shiftTraffic: {
    table: ['GetItem', 'PutItem'],
    services: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener', 'events:PutEvents'],
  },
  switchBack: {
    table: ['GetItem', 'PutItem'],
    services: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener'],
  },
  executionStatus: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
};

/** Calls that support no resource-level permissions: granted on `*`. */
const UNSCOPED: ReadonlySet<ServiceCall> = new Set([
  'ssm:ListCommands',
  'ssm:ListCommandInvocations',
  'ssm:DescribeInstanceInformation',
  'cloudwatch:DescribeAlarms',
  'elasticloadbalancing:DescribeListeners',
]);

export interface OrchestratorFunctionsProps {
  /** The deployment table. */
  readonly table: dynamodb.ITableV2;
  /** The bus that receives "Deployment Status Change" events. */
  readonly eventBus: events.IEventBus;
  /** Name of the project's own SSM deploy document. */
  readonly deployDocumentName: string;
  /**
   * ARNs of the state machines whose waiting task tokens the functions answer
   * (built from the machines' names: a reference to the machines would be a
   * dependency cycle).
   */
  readonly stateMachineArns: readonly string[];
  /**
   * The tag an instance must carry for `ssm:SendCommand` to reach it (an
   * `ssm:resourceTag/<key>` condition on the EC2 instance and managed-instance
   * resources). Tag every host deployctl may deploy to with it.
   * @default { key: 'deployctl:managed', value: 'true' }
   */
  readonly managedInstanceTag?: ManagedInstanceTag;
}

/** The orchestrator's Lambda functions, each granted only the calls its code makes. */
export class OrchestratorFunctionSet extends Construct {
  public readonly functions: OrchestratorFunctions;
  /** The tag SendCommand requires on its target instances. */
  public readonly managedInstanceTag: ManagedInstanceTag;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionsProps) {
    super(scope, id);
    const tag = ManagedInstanceTag.safeParse(props.managedInstanceTag ?? DEFAULT_MANAGED_TAG);
    if (!tag.success) {
      const problems = tag.error.issues.map((issue) => `${issue.path.join('.') || 'tag'} ${issue.message}`).join('; ');
      throw new Error(`OrchestratorFunctionSet ${id}: managedInstanceTag: ${problems}`);
    }
    if (props.stateMachineArns.length === 0)
      throw new Error(`OrchestratorFunctionSet ${id}: stateMachineArns must name at least one machine`);
    this.managedInstanceTag = tag.data;

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

    for (const [name, fn] of Object.entries(this.functions) as [HandlerName, NodejsFunction][]) {
      const calls = CALLS[name];
      // Item calls on the table itself: no orchestrator function reads the listing index.
      grantTableCalls(props.table, fn, calls.table);
      this.grantServiceCalls(fn, calls.services ?? [], props);
    }
  }

  private grantServiceCalls(fn: NodejsFunction, calls: readonly ServiceCall[], props: OrchestratorFunctionsProps): void {
    const stack = Stack.of(this);
    const unscoped = calls.filter((call) => UNSCOPED.has(call));
    if (unscoped.length > 0) fn.addToRolePolicy(new iam.PolicyStatement({ actions: unscoped, resources: ['*'] }));
    if (calls.includes('events:PutEvents')) props.eventBus.grantPutEventsTo(fn);
    const taskResponses = calls.filter((call) => call.startsWith('states:SendTask'));
    if (taskResponses.length > 0)
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: taskResponses, resources: [...props.stateMachineArns] }));
    if (calls.includes('elasticloadbalancing:ModifyListener')) {
      // Listener ARNs come with each spec, so the resource is any application load balancer listener of this account and region.
      const listeners = Arn.format({ service: 'elasticloadbalancing', resource: 'listener', resourceName: 'app/*' }, stack);
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['elasticloadbalancing:ModifyListener'], resources: [listeners] }));
    }
    if (calls.includes('ssm:SendCommand')) {
      // Two statements: the tag condition holds for instances only (documents carry no such tag).
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ssm:SendCommand'],
          resources: [
            ...ALLOWED_AWS_DOCUMENTS.map((name) =>
              Arn.format({ service: 'ssm', account: '', resource: 'document', resourceName: name }, stack),
            ),
            Arn.format({ service: 'ssm', resource: 'document', resourceName: props.deployDocumentName }, stack),
          ],
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ssm:SendCommand'],
          resources: [
            Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack),
            Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack),
          ],
          conditions: { StringEquals: { [`ssm:resourceTag/${this.managedInstanceTag.key}`]: this.managedInstanceTag.value } },
        }),
      );
    }
  }
}
