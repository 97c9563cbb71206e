import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '../../lib/orchestrator-functions.ts';
import type { RegionalStack } from '../../lib/regional-stack.ts';
import { ACCOUNT, type Json, logicalIdOf, REGION, regionalStack } from './synth.ts';

let stack: RegionalStack;
let template: Template;

beforeAll(() => {
  ({ stack } = regionalStack());
  template = Template.fromStack(stack);
});

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
}
interface PolicyResource {
  Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
}

const handlers = () => Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][];
const actionsOf = (statement: Statement) => [statement.Action].flat();
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });

function roleOf(construct: { readonly role?: IConstruct }): string {
  if (!construct.role) throw new Error('no role');
  return logicalIdOf(construct.role);
}

/** Every statement granted to a role, across all the policies attached to it. */
function statementsOf(roleLogicalId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, PolicyResource>)
    .filter((policy) => policy.Properties.Roles.some((role) => role.Ref === roleLogicalId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** The logical ids of the roles whose policies allow an action. */
function rolesAllowed(action: string): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, PolicyResource>)
    .filter((policy) => policy.Properties.PolicyDocument.Statement.some((s) => s.Effect === 'Allow' && actionsOf(s).includes(action)))
    .flatMap((policy) => policy.Properties.Roles.map((role) => role.Ref));
}

describe('the deployment table', () => {
  it('is keyed by pk (partition) and sk (sort), both strings', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    });
  });

  it('has point-in-time recovery and deletion protection, and is retained when the stack goes', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        Replicas: [
          Match.objectLike({
            Region: REGION,
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
    });
  });

  it('expires transient items (locks, task tokens) through the ttl attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
  });

  it('is encrypted at rest with KMS', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS' } });
  });
});

describe('the orchestrator functions', () => {
  it('are the eight functions of the flow, and the only Lambda functions in the stack', () => {
    expect(Object.keys(stack.functions).sort()).toEqual(
      ['checkAlarms', 'commandCallback', 'evaluateWave', 'finalize', 'planWaves', 'runPreChecks', 'sendCommand', 'validateSpec'].sort(),
    );
    template.resourceCountIs('AWS::Lambda::Function', 8);
  });

  it('all run Node.js 22 on arm64 with active X-Ray tracing and know the table name', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({ TABLE_NAME: ref(logicalIdOf(stack.table.table)), NODE_OPTIONS: '--enable-source-maps' }),
      },
    });
  });

  it('each log as JSON to a log group of their own, which has a retention period', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    for (const [name, fn] of handlers()) {
      const logGroup = logicalIdOf(fn.logGroup);
      expect(functions[logicalIdOf(fn)]?.Properties.LoggingConfig, name).toEqual({ LogFormat: 'JSON', LogGroup: ref(logGroup) });
      expect(logGroups[logGroup]?.Properties, name).toEqual({ RetentionInDays: 30 });
    }
    expect(new Set(handlers().map(([, fn]) => logicalIdOf(fn.logGroup))).size).toBe(handlers().length);
  });

  it('each use a role of their own with no AWS managed policy, writing logs only to their own log group', () => {
    for (const [name, fn] of handlers()) {
      const role = template.findResources('AWS::IAM::Role')[roleOf(fn)];
      expect(role?.Properties.ManagedPolicyArns, name).toBeUndefined();
      const logWrites = statementsOf(roleOf(fn)).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logWrites, name).toEqual([
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(logicalIdOf(fn.logGroup)) },
      ]);
    }
  });

  it('grant Resource "*" only for the actions that support no narrower resource', () => {
    const xray = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
    const wildcard = Object.fromEntries(
      handlers().map(([name, fn]) => [
        name,
        statementsOf(roleOf(fn))
          .filter((s) => s.Resource === '*')
          .flatMap(actionsOf)
          .sort(),
      ]),
    );
    expect(wildcard).toEqual({
      validateSpec: xray,
      planWaves: ['ssm:DescribeInstanceInformation', ...xray],
      runPreChecks: ['cloudwatch:DescribeAlarms', 'ssm:DescribeInstanceInformation', ...xray],
      sendCommand: xray,
      commandCallback: xray,
      evaluateWave: ['ssm:ListCommandInvocations', ...xray],
      checkAlarms: ['cloudwatch:DescribeAlarms', ...xray],
      finalize: xray,
    });
  });

  it('let only sendCommand run SSM commands, and only the allow-listed documents on instances of this account and region', () => {
    expect(rolesAllowed('ssm:SendCommand')).toEqual([roleOf(stack.functions.sendCommand)]);
    const sendCommand = statementsOf(roleOf(stack.functions.sendCommand)).filter((s) => actionsOf(s).includes('ssm:SendCommand'));
    expect(sendCommand).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [
          partitionArn(`:ssm:${REGION}::document/AWS-RunShellScript`),
          partitionArn(`:ssm:${REGION}::document/AWS-ApplyAnsiblePlaybooks`),
          partitionArn(`:ssm:${REGION}::document/AWS-RunPatchBaseline`),
          partitionArn(`:ssm:${REGION}:${ACCOUNT}:document/Deployctl-DeployApplication`),
          partitionArn(`:ec2:${REGION}:${ACCOUNT}:instance/*`),
          partitionArn(`:ssm:${REGION}:${ACCOUNT}:managed-instance/*`),
        ],
      },
    ]);
  });

  it('let only commandCallback complete a waiting task, and only for the deployment state machines', () => {
    const callbackRole = roleOf(stack.functions.commandCallback);
    for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'])
      expect(rolesAllowed(action), action).toEqual([callbackRole]);
    const taskResponse = statementsOf(callbackRole).filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));
    expect(taskResponse).toEqual([
      {
        Effect: 'Allow',
        Action: expect.arrayContaining(['states:SendTaskSuccess', 'states:SendTaskFailure']),
        Resource: ref(logicalIdOf(stack.stateMachines.rolling)),
      },
    ]);
  });
});

describe('the SSM command status rule', () => {
  it('matches only finished Run Command commands (no Pending or InProgress) and sends them to the callback function, with retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Status-change Notification'],
        detail: { status: ['Success', 'Failed', 'TimedOut', 'Cancelled'] },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: arnOf(logicalIdOf(stack.functions.commandCallback)),
          RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: Match.anyValue() },
        }),
      ],
    });
  });

  it('is allowed to invoke the callback function, and only from this rule', () => {
    const rule = logicalIdOf(stack.node.findChild('SsmCommandStatusRule'));
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(logicalIdOf(stack.functions.commandCallback)),
      Principal: 'events.amazonaws.com',
      SourceArn: arnOf(rule),
    });
  });
});

describe('the deploy document', () => {
  it('is a Command document named Deployctl-DeployApplication', () => {
    template.hasResourceProperties('AWS::SSM::Document', {
      Name: 'Deployctl-DeployApplication',
      DocumentType: 'Command',
      Content: Match.objectLike({ schemaVersion: '2.2' }),
    });
  });

  it('passes every parameter as an environment variable checked by an anchored allowedPattern', () => {
    const parameters = new Capture();
    template.hasResourceProperties('AWS::SSM::Document', { Content: Match.objectLike({ parameters }) });
    const params = parameters.asObject() as Record<string, { type: string; interpolationType: string; allowedPattern: string }>;
    expect(Object.keys(params).sort()).toEqual(['action', 'app', 'environment', 'version']);
    for (const [name, param] of Object.entries(params)) {
      expect(param, name).toMatchObject({ type: 'String', interpolationType: 'ENV_VAR' });
      expect(param.allowedPattern, name).toMatch(/^\^.*\$$/);
    }
  });

  it('never splices a parameter into the script text', () => {
    const steps = new Capture();
    template.hasResourceProperties('AWS::SSM::Document', { Content: Match.objectLike({ mainSteps: steps }) });
    const script = (steps.asArray() as { inputs: { runCommand: string[] } }[]).flatMap((step) => step.inputs.runCommand).join('\n');
    expect(script).toContain('SSM_version');
    expect(script).not.toMatch(/\{\{.*\}\}/);
  });
});

describe('the rolling state machine', () => {
  it('may invoke every orchestrator function except the EventBridge-driven callback, and no other', () => {
    const invoke = statementsOf(roleOf(stack.stateMachines.rolling)).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    const invoked = invoke.flatMap((s) => [s.Resource].flat()).filter((r) => JSON.stringify(r).startsWith('{"Fn::GetAtt"'));
    const expected = handlers()
      .filter(([name]) => name !== 'commandCallback')
      .map(([, fn]) => arnOf(logicalIdOf(fn)));
    expect(invoked).toEqual(expect.arrayContaining(expected));
    expect(invoked).toHaveLength(expected.length);
  });

  it('grants Resource "*" only for X-Ray and CloudWatch Logs delivery, which support no narrower resource', () => {
    const wildcard = statementsOf(roleOf(stack.stateMachines.rolling))
      .filter((s) => s.Resource === '*')
      .flatMap(actionsOf);
    expect(wildcard.length).toBeGreaterThan(0);
    for (const action of wildcard)
      expect(action).toMatch(
        /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSampling\w+)|logs:\w+(LogDelivery|LogDeliveries|ResourcePolicy|ResourcePolicies|LogGroups))$/,
      );
  });

  it('is traced with X-Ray and logs every event, without execution data, to a log group with retention', () => {
    const logGroup = new Capture();
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
      },
    });
    expect(template.findResources('AWS::Logs::LogGroup')[logGroup.asString()]?.Properties).toEqual({ RetentionInDays: 30 });
  });
});
