import { Arn, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { DEFAULT_MANAGED_TAG, ManagedInstanceTag } from '#core/managed-tag.ts';
import { ALLOWED_AWS_DOCUMENTS } from '#core/spec.ts';
import { FUNCTIONS, type FunctionNameOf, type FunctionsOf, functionsOf, type ServiceCall } from '#registry';
import { grantTableCalls } from './deployment-table.ts';
import { OrchestratorFunction } from './orchestrator-function.ts';

/** Every orchestrator Lambda, by its registry name (lambdas/registry.ts, group `orchestrator`). */
export type OrchestratorFunctions = FunctionsOf<'orchestrator', NodejsFunction>;

export type HandlerName = FunctionNameOf<'orchestrator'>;

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

    const environment = { TABLE_NAME: props.table.tableName, EVENT_BUS_NAME: props.eventBus.eventBusName };
    const functions: Partial<Record<HandlerName, NodejsFunction>> = {};
    for (const name of Object.keys(functionsOf('orchestrator')) as HandlerName[]) {
      const fn = new OrchestratorFunction(this, name[0]?.toUpperCase() + name.slice(1), { name, environment }).function;
      const { calls } = FUNCTIONS[name];
      // Item calls on the table itself: no orchestrator function reads the listing index.
      grantTableCalls(props.table, fn, calls.table);
      this.grantServiceCalls(fn, calls.services, props);
      functions[name] = fn;
    }
    this.functions = functions as OrchestratorFunctions;
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
    if (calls.includes('ssm:GetCalendarState')) {
      // Change calendar names come with each spec (window.changeCalendar): any SSM document of this account and region.
      const documents = Arn.format({ service: 'ssm', resource: 'document', resourceName: '*' }, stack);
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetCalendarState'], resources: [documents] }));
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
