import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { DeploymentsApi } from './deployments-api.ts';
import { FAN_OUT_INVOKED, type RegionFanOut } from './multi-region.ts';
import type { HandlerName } from './orchestrator-functions.ts';
import type { PipelineDeployments } from './pipeline-deployments.ts';
import type { RegionalStack } from './regional-stack.ts';

const XRAY = 'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions';
const DESCRIBE_INSTANCES = 'ssm:DescribeInstanceInformation supports no resource-level permissions';
const DESCRIBE_ALARMS =
  'cloudwatch:DescribeAlarms reads gate alarms chosen per deployment (by name, prefix or tag), and returns composite alarms only when scoped to *';
const LIST_INVOCATIONS = 'ssm:ListCommandInvocations supports no resource-level permissions';
const LIST_COMMANDS =
  'ssm:ListCommands (how a retried send finds the command an earlier attempt sent) supports no resource-level permissions';
const DESCRIBE_LISTENERS = 'elasticloadbalancing:DescribeListeners supports no resource-level permissions';
/** Functions that EventBridge or a caller invokes, never a state machine. */
const NOT_INVOKED_BY_STATE_MACHINES: readonly HandlerName[] = ['commandCallback', 'controlDeployment', 'executionStatus'];
/** Functions only the blue-green state machine invokes. */
const BLUE_GREEN_ONLY: readonly HandlerName[] = ['shiftTraffic', 'switchBack'];

/** Why each function's role has `Resource: *` statements; the infra tests pin the actions behind each. */
const WILDCARD_REASONS: Record<HandlerName, readonly string[]> = {
  validateSpec: [XRAY],
  planWaves: [XRAY, DESCRIBE_INSTANCES],
  runPreChecks: [XRAY, DESCRIBE_INSTANCES, DESCRIBE_ALARMS],
  sendCommand: [XRAY, LIST_COMMANDS],
  commandCallback: [XRAY],
  evaluateWave: [XRAY, LIST_INVOCATIONS],
  checkAlarms: [XRAY, DESCRIBE_ALARMS],
  finalize: [XRAY],
  checkControls: [XRAY],
  awaitGate: [XRAY],
  controlDeployment: [XRAY],
  shiftTraffic: [XRAY, DESCRIBE_LISTENERS],
  switchBack: [XRAY, DESCRIBE_LISTENERS],
  executionStatus: [XRAY],
};

/** The finding id cdk-nag's IAM5 reports for a wildcard resource (intrinsics written as `<AWS::Partition>`, `<Id.Arn>`). */
function iam5ResourceId(scope: IConstruct, resource: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (node && typeof node === 'object') {
      if ('Fn::Join' in node) {
        const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
        return parts.map(flatten).join(delimiter);
      }
      if ('Ref' in node) return `<${String(node.Ref)}>`;
      if ('Fn::GetAtt' in node) {
        const [id, attribute] = node['Fn::GetAtt'] as [string, string];
        return `<${id}.${attribute}>`;
      }
    }
    throw new Error(`cannot name the IAM5 finding for ${JSON.stringify(node)}`);
  };
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

function roleOf(construct: { readonly role?: IConstruct }, what: string): IConstruct {
  if (!construct.role) throw new Error(`${what} has no role to acknowledge findings on`);
  return construct.role;
}

/**
 * Acknowledges the AwsSolutions findings that are deliberate, each on the
 * narrowest construct and with its reason. Everything else is fixed in the
 * constructs themselves (own log-writing roles instead of
 * AWSLambdaBasicExecutionRole, state machine logging at level ALL).
 */
export function acknowledgeNagFindings(stack: RegionalStack): void {
  for (const [name, fn] of Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][]) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the pinned runtime: the bundle targets node22 and local mode and the test suites run the same handlers on Node 22; runtime upgrades are deliberate',
    });
    Validations.of(roleOf(fn, name)).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: WILDCARD_REASONS[name].join('; ') });
  }

  const sendCommandRole = roleOf(stack.functions.sendCommand, 'sendCommand');
  const { key, value } = stack.managedInstanceTag;
  Validations.of(sendCommandRole).acknowledge({
    id: iam5ResourceId(stack, Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack)),
    reason: `Target EC2 instances are chosen per deployment (tags or ids), so they cannot be listed; ssm:SendCommand reaches only instances of this account and region tagged ${key}=${value} (ssm:resourceTag condition), and runs only the allow-listed documents`,
  });
  Validations.of(sendCommandRole).acknowledge({
    id: iam5ResourceId(stack, Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack)),
    reason: `Target on-premises (hybrid) managed instances are chosen per deployment, so they cannot be listed; ssm:SendCommand reaches only those of this account and region tagged ${key}=${value} (ssm:resourceTag condition), and runs only the allow-listed documents`,
  });

  for (const name of ['runPreChecks', 'checkControls'] as const) {
    Validations.of(roleOf(stack.functions[name], name)).acknowledge({
      id: iam5ResourceId(stack, Arn.format({ service: 'ssm', resource: 'document', resourceName: '*' }, stack)),
      reason:
        'Each spec names its own change calendar (window.changeCalendar); ssm:GetCalendarState, which only reads a calendar state, is limited to SSM documents of this account and region',
    });
  }

  for (const name of ['shiftTraffic', 'switchBack'] as const) {
    Validations.of(roleOf(stack.functions[name], name)).acknowledge({
      id: iam5ResourceId(stack, Arn.format({ service: 'elasticloadbalancing', resource: 'listener', resourceName: 'app/*' }, stack)),
      reason:
        'Each blue-green spec names its own ALB listener; elasticloadbalancing:ModifyListener is limited to application load balancer listeners of this account and region',
    });
  }

  acknowledgeApiFindings(stack.api);
  if (stack.fanOut) acknowledgeFanOutFindings(stack.fanOut);
  if (stack.pipelines) acknowledgePipelineFindings(stack.pipelines);

  for (const machine of Object.values(stack.stateMachines)) {
    const role = roleOf(machine, machine.node.path);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs vended delivery (logs:CreateLogDelivery and related) support no resource-level permissions',
    });
    for (const [name, fn] of Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][]) {
      if (NOT_INVOKED_BY_STATE_MACHINES.includes(name)) continue;
      if (BLUE_GREEN_ONLY.includes(name) && machine !== stack.stateMachines.blueGreen) continue;
      Validations.of(role).acknowledge({
        id: iam5ResourceId(stack, `${fn.functionArn}:*`),
        reason: `LambdaInvoke grants the versions and aliases (<arn>:*) of the ${name} function it invokes, no other function`,
      });
    }
  }
}

/** The CodePipeline trigger's deliberate findings: the runtime, X-Ray, and a dead-letter queue without one of its own. */
function acknowledgePipelineFindings(pipelines: PipelineDeployments): void {
  Validations.of(pipelines.function).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is the pinned runtime: the bundle targets node22 and the unit tests run the same trigger handler on Node 22; runtime upgrades are deliberate',
  });
  Validations.of(roleOf(pipelines.function, 'the pipeline trigger')).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: XRAY });
  Validations.of(pipelines.deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      "This queue is the dead-letter queue of the pipeline rule's target and of the trigger's failed invocations; a dead-letter queue of its own would only move the same messages again",
  });
}

/** The deployments API's deliberate findings: IAM (SigV4) instead of Cognito, no WAF, the runtime, X-Ray and the logs role. */
function acknowledgeApiFindings(api: DeploymentsApi): void {
  Validations.of(api.function).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is the pinned runtime: the bundle targets node22 and `deployctl serve --local` and the test suites run the same API handler on Node 22; runtime upgrades are deliberate',
  });
  Validations.of(roleOf(api.function, 'the API function')).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: XRAY });
  for (const method of api.api.methods) {
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are IAM principals (people through SSO roles, pipelines, Jira and ServiceNow integrations) signing with SigV4: every method uses AWS_IAM authorization, which a Cognito user pool authorizer would replace, not strengthen',
    });
  }
  Validations.of(api.api.deploymentStage).acknowledge({
    id: 'AwsSolutions-APIG3',
    reason:
      'Every method requires a SigV4 signature from an IAM principal of the account and the stage is throttled per method; a WAF web ACL adds cost without a rule that unauthenticated traffic could reach past IAM authorization',
  });
  if (api.cloudWatchRole) {
    Validations.of(api.cloudWatchRole).acknowledge({
      id: iam5ResourceId(
        api,
        Arn.format({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }, Stack.of(api)),
      ),
      reason:
        "API Gateway's CloudWatch Logs role is one setting for the whole account and region: every REST API's execution logs (API-Gateway-Execution-Logs_<api-id>/<stage>) and access logs go through it, so it covers this account and region's log groups, as AmazonAPIGatewayPushToCloudWatchLogs would, but inline",
    });
  }
}

/** The multi-region fan-out's deliberate findings: the runtime, X-Ray, and the machine's invoke grants and vended logs. */
function acknowledgeFanOutFindings(fanOut: RegionFanOut): void {
  for (const [name, fn] of Object.entries(fanOut.functions)) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the pinned runtime: the bundle targets node22 and local mode and the flow tests run the same fan-out handlers on Node 22; runtime upgrades are deliberate',
    });
    Validations.of(roleOf(fn, name)).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: XRAY });
  }
  const role = roleOf(fanOut.stateMachine, fanOut.stateMachine.node.path);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and CloudWatch Logs vended delivery (logs:CreateLogDelivery and related) support no resource-level permissions',
  });
  for (const name of FAN_OUT_INVOKED) {
    Validations.of(role).acknowledge({
      id: iam5ResourceId(fanOut, `${fanOut.functions[name].functionArn}:*`),
      reason: `LambdaInvoke grants the versions and aliases (<arn>:*) of the ${name} function it invokes, no other function`,
    });
  }
}
