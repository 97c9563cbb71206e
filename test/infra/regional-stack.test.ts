import { isDeepStrictEqual } from 'node:util';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '#lib/orchestrator-functions.ts';
import { type RegionalStack, STRATEGIES, type StrategyName } from '#lib/regional-stack.ts';
import { commandStatusEvent } from '#test/fixtures/ssm-events.ts';
import {
  ACCOUNT,
  type AslDefinition,
  actionsOf,
  ENTRY_POINTS,
  invokedHandler,
  logicalIdOf,
  policiesOf,
  REGION,
  regionalStack,
  renderDefinitions,
  type Statement,
} from '#test/infra/synth.ts';

let stack: RegionalStack;
let template: Template;
let definitions: Record<StrategyName, AslDefinition>;

beforeAll(() => {
  ({ stack } = regionalStack());
  template = Template.fromStack(stack);
  definitions = renderDefinitions(stack, template);
});

const handlers = () => Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][];
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const partitionArn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });
const machineArn = (strategy: StrategyName) => partitionArn(`:states:${REGION}:${ACCOUNT}:stateMachine:Deployctl-${strategy}`);

function roleOf(construct: { readonly role?: IConstruct }): string {
  if (!construct.role) throw new Error('no role');
  return logicalIdOf(construct.role);
}

const rolesOf = (...names: HandlerName[]) => names.map((name) => roleOf(stack.functions[name])).sort();

/** Every statement granted to a role, across all the policies attached to it. */
function statementsOf(roleLogicalId: string): Statement[] {
  return policiesOf(template.toJSON())
    .filter((policy) => policy.Properties.Roles.some((role) => role.Ref === roleLogicalId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/** The logical ids of the roles whose policies allow an action, sorted. */
function rolesAllowed(action: string): string[] {
  return policiesOf(template.toJSON())
    .filter((policy) => policy.Properties.PolicyDocument.Statement.some((s) => s.Effect === 'Allow' && actionsOf(s).includes(action)))
    .flatMap((policy) => policy.Properties.Roles.map((role) => role.Ref))
    .sort();
}

/** A role's statements about one service, with their actions sorted. */
function serviceStatementsOf(roleLogicalId: string, service: string): Statement[] {
  return statementsOf(roleLogicalId)
    .filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`)))
    .map((s) => ({ ...s, Action: actionsOf(s).sort() }));
}

/**
 * The functions a state machine's role may invoke, each read from a statement
 * that names exactly the function and its versions and aliases (`<arn>:*`).
 */
function functionsInvokableBy(machine: StrategyName): string[] {
  return statementsOf(roleOf(stack.stateMachines[machine]))
    .filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))
    .map((s) => {
      const match = handlers().find(([, fn]) => {
        const arn = arnOf(logicalIdOf(fn));
        const expected = { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [arn, { 'Fn::Join': ['', [arn, ':*']] }] };
        return isDeepStrictEqual({ ...s, Action: actionsOf(s) }, expected);
      });
      return match?.[0] ?? `unexpected statement ${JSON.stringify(s)}`;
    })
    .sort();
}

/** The functions a state machine's definition invokes. */
const functionsInvokedBy = (machine: StrategyName) =>
  [
    ...new Set(
      Object.values(definitions[machine].States)
        .map(invokedHandler)
        .filter((h) => h !== undefined),
    ),
  ].sort();

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
  it('are the fourteen functions of the flows, the controls and the status rules, and with the API function the only Lambda functions in the stack', () => {
    expect(Object.keys(stack.functions).sort()).toEqual(
      [
        'validateSpec',
        'planWaves',
        'runPreChecks',
        'checkControls',
        'awaitGate',
        'sendCommand',
        'commandCallback',
        'evaluateWave',
        'checkAlarms',
        'shiftTraffic',
        'switchBack',
        'finalize',
        'controlDeployment',
        'executionStatus',
      ].sort(),
    );
    template.resourceCountIs('AWS::Lambda::Function', 15);
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).sort()).toEqual(
      [...handlers().map(([, fn]) => logicalIdOf(fn)), logicalIdOf(stack.api.function)].sort(),
    );
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
    const describeListeners = ['elasticloadbalancing:DescribeListeners', ...xray];
    expect(wildcard).toEqual({
      validateSpec: xray,
      planWaves: ['ssm:DescribeInstanceInformation', ...xray],
      runPreChecks: ['cloudwatch:DescribeAlarms', 'ssm:DescribeInstanceInformation', ...xray],
      checkControls: xray,
      awaitGate: xray,
      sendCommand: ['ssm:ListCommands', ...xray],
      commandCallback: xray,
      evaluateWave: ['ssm:ListCommandInvocations', ...xray],
      checkAlarms: ['cloudwatch:DescribeAlarms', ...xray],
      shiftTraffic: describeListeners,
      switchBack: describeListeners,
      finalize: xray,
      controlDeployment: xray,
      executionStatus: xray,
    });
  });

  it('let only sendCommand run SSM commands: the allow-listed documents, and instances of this account and region that carry the managed tag', () => {
    expect(rolesAllowed('ssm:SendCommand')).toEqual([roleOf(stack.functions.sendCommand)]);
    const sendCommand = statementsOf(roleOf(stack.functions.sendCommand)).filter((s) => actionsOf(s).includes('ssm:SendCommand'));
    // Two statements: a condition on the documents' statement would refuse every document, which carries no such tag.
    expect(sendCommand).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [
          partitionArn(`:ssm:${REGION}::document/AWS-RunShellScript`),
          partitionArn(`:ssm:${REGION}::document/AWS-ApplyAnsiblePlaybooks`),
          partitionArn(`:ssm:${REGION}::document/AWS-RunPatchBaseline`),
          partitionArn(`:ssm:${REGION}:${ACCOUNT}:document/Deployctl-DeployApplication`),
        ],
      },
      {
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: [partitionArn(`:ec2:${REGION}:${ACCOUNT}:instance/*`), partitionArn(`:ssm:${REGION}:${ACCOUNT}:managed-instance/*`)],
        Condition: { StringEquals: { 'ssm:resourceTag/deployctl:managed': 'true' } },
      },
    ]);
  });

  it('require the managed tag given in the props on the instances SendCommand reaches', () => {
    const tagged = regionalStack({}, { managedInstanceTag: { key: 'team/deploy-target', value: 'web' } }).stack;
    const statements = policiesOf(Template.fromStack(tagged).toJSON()).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    ) as (Statement & {
      Condition?: unknown;
    })[];
    const conditions = statements.filter((s) => actionsOf(s).includes('ssm:SendCommand')).map((s) => s.Condition);
    expect(conditions).toEqual([undefined, { StringEquals: { 'ssm:resourceTag/team/deploy-target': 'web' } }]);
  });

  it.each([
    [{ key: 'aws:createdBy', value: 'x' }, /managedInstanceTag: key must not start with aws:/],
    [{ key: '', value: 'true' }, /managedInstanceTag: key must be 1 to 128/],
    [{ key: 'deployctl:managed', value: 'a"b' }, /managedInstanceTag: value must be up to 256/],
  ])('refuse the managed tag %j at synthesis, naming the field', (managedInstanceTag, message) => {
    expect(() => regionalStack({}, { managedInstanceTag })).toThrow(message);
  });

  it('let only the SSM callback, the controls, a gate, a send and the API answer a waiting task, each only as its code does, and only for the five deployment state machines', () => {
    const succeeders = rolesOf('commandCallback', 'controlDeployment', 'awaitGate', 'sendCommand');
    // The API's approve, reject, abort and resume succeed or fail a gate's token (test/infra/api.test.ts).
    expect(rolesAllowed('states:SendTaskSuccess')).toEqual([...succeeders, roleOf(stack.api.function)].sort());
    expect(rolesAllowed('states:SendTaskFailure')).toEqual([roleOf(stack.functions.controlDeployment), roleOf(stack.api.function)].sort());
    expect(rolesAllowed('states:SendTaskHeartbeat')).toEqual([]);
    for (const role of succeeders)
      expect(serviceStatementsOf(role, 'states'), role).toEqual([
        {
          Effect: 'Allow',
          Action:
            role === roleOf(stack.functions.controlDeployment)
              ? ['states:SendTaskFailure', 'states:SendTaskSuccess']
              : ['states:SendTaskSuccess'],
          Resource: STRATEGIES.map((strategy) => machineArn(strategy)),
        },
      ]);
  });

  it('name in the task response grant exactly the state machines the stack deploys', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    const named = STRATEGIES.map((strategy) => machines[logicalIdOf(stack.stateMachines[strategy])]?.Properties.StateMachineName);
    expect(named).toEqual(STRATEGIES.map((strategy) => `${stack.stackName}-${strategy}`));
    expect(stack.stackName).toBe('Deployctl');
  });

  it('let only shiftTraffic and switchBack move traffic, and only on application load balancer listeners of this account and region', () => {
    const traffic = rolesOf('shiftTraffic', 'switchBack');
    expect(rolesAllowed('elasticloadbalancing:ModifyListener')).toEqual(traffic);
    expect(rolesAllowed('elasticloadbalancing:DescribeListeners')).toEqual(traffic);
    for (const role of traffic)
      expect(serviceStatementsOf(role, 'elasticloadbalancing'), role).toEqual(
        expect.arrayContaining([
          {
            Effect: 'Allow',
            Action: ['elasticloadbalancing:ModifyListener'],
            Resource: partitionArn(`:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/*`),
          },
          { Effect: 'Allow', Action: ['elasticloadbalancing:DescribeListeners'], Resource: '*' },
        ]),
      );
    for (const role of traffic) expect(serviceStatementsOf(role, 'elasticloadbalancing'), role).toHaveLength(2);
  });

  it('let only the functions that announce a deployment status put events, and only on the default bus', () => {
    const announcers = rolesOf(
      'validateSpec',
      'runPreChecks',
      'sendCommand',
      'evaluateWave',
      'awaitGate',
      'shiftTraffic',
      'finalize',
      'executionStatus',
    );
    expect(rolesAllowed('events:PutEvents')).toEqual(announcers);
    for (const role of announcers)
      expect(serviceStatementsOf(role, 'events'), role).toEqual([
        { Effect: 'Allow', Action: ['events:PutEvents'], Resource: partitionArn(`:events:${REGION}:${ACCOUNT}:event-bus/default`) },
      ]);
  });

  it('can be invoked by EventBridge only through the two status rules, and otherwise only by the state machines', () => {
    template.resourceCountIs('AWS::Events::Rule', 2);
    // The third permission lets API Gateway invoke the API function (test/infra/api.test.ts).
    template.resourceCountIs('AWS::Lambda::Permission', 3);
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => p.Properties);
    expect(permissions.filter((p) => p.Principal === 'events.amazonaws.com')).toHaveLength(2);
    expect(permissions.filter((p) => p.Principal !== 'events.amazonaws.com')).toEqual([
      expect.objectContaining({ Principal: 'apigateway.amazonaws.com', FunctionName: arnOf(logicalIdOf(stack.api.function)) }),
    ]);
    expect(rolesAllowed('lambda:InvokeFunction')).toEqual(STRATEGIES.map((strategy) => roleOf(stack.stateMachines[strategy])).sort());
  });
});

describe('the SSM command status rule', () => {
  it('matches only finished commands of the documents deployctl sends and sends them to the callback function, with retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Status-change Notification'],
        detail: {
          'document-name': ['Deployctl-DeployApplication', 'AWS-RunShellScript', 'AWS-ApplyAnsiblePlaybooks', 'AWS-RunPatchBaseline'],
          status: ['Success', 'Failed', 'TimedOut', 'Cancelled'],
        },
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

  it("does not match the documented sample event: a command of another document (Patch Manager's, a person's at the console)", () => {
    const rule = template.findResources('AWS::Events::Rule')[logicalIdOf(stack.node.findChild('SsmCommandStatusRule'))];
    const pattern = rule?.Properties.EventPattern as { detail: Record<string, string[]> };
    const sample = commandStatusEvent();
    const matchesDetail = (detail: Record<string, unknown>) =>
      Object.entries(pattern.detail).every(([key, values]) => values.includes(detail[key] as string));
    expect(matchesDetail(sample.detail)).toBe(false);
    expect(matchesDetail({ ...sample.detail, 'document-name': 'Deployctl-DeployApplication' })).toBe(true);
    expect(matchesDetail({ ...sample.detail, 'document-name': 'AWS-RunPatchBaseline', status: 'Failed' })).toBe(true);
    expect(matchesDetail({ ...sample.detail, 'document-name': 'Deployctl-DeployApplication', status: 'InProgress' })).toBe(false);
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

describe('the execution status rule', () => {
  it('matches only executions of the five deployment state machines that ended aborted, timed out or failed', () => {
    const rule = template.findResources('AWS::Events::Rule')[logicalIdOf(stack.node.findChild('ExecutionStatusRule'))];
    const machines = STRATEGIES.map((strategy) => ref(logicalIdOf(stack.stateMachines[strategy])));
    expect(rule?.Properties.State).toBe('ENABLED');
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: expect.arrayContaining(machines) },
    });
    expect(rule?.Properties.EventPattern.detail.stateMachineArn).toHaveLength(machines.length);
  });

  it('sends them to the executionStatus function alone, with retries', () => {
    const rule = template.findResources('AWS::Events::Rule')[logicalIdOf(stack.node.findChild('ExecutionStatusRule'))];
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(logicalIdOf(stack.functions.executionStatus)),
        RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
      }),
    ]);
  });

  it('is allowed to invoke the executionStatus function, and only from this rule', () => {
    const rule = logicalIdOf(stack.node.findChild('ExecutionStatusRule'));
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(logicalIdOf(stack.functions.executionStatus)),
      Principal: 'events.amazonaws.com',
      SourceArn: arnOf(rule),
    });
  });
});

describe('the deployment state machines', () => {
  it('are one per strategy, each named after the stack and its strategy', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', STRATEGIES.length);
    expect(Object.keys(stack.stateMachines).sort()).toEqual([...STRATEGIES].sort());
    for (const strategy of STRATEGIES)
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `Deployctl-${strategy}`,
        RoleArn: arnOf(roleOf(stack.stateMachines[strategy])),
      });
  });

  it.each(STRATEGIES)(
    '%s is traced with X-Ray and logs every event, without execution data, to a /aws/vendedlogs/states/ log group with retention',
    (strategy) => {
      const machine = template.findResources('AWS::StepFunctions::StateMachine')[logicalIdOf(stack.stateMachines[strategy])];
      expect(machine?.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(machine?.Properties.LoggingConfiguration).toEqual({
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } }],
      });
      const logGroup: string = machine?.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(template.findResources('AWS::Logs::LogGroup')[logGroup]?.Properties).toEqual({
        LogGroupName: '/aws/vendedlogs/states/Deployctl',
        RetentionInDays: 30,
      });
    },
  );

  it.each(STRATEGIES)('%s stops any execution that runs longer than a day', (strategy) => {
    expect(definitions[strategy].TimeoutSeconds).toBe(24 * 3600);
  });

  it.each(STRATEGIES)('%s may invoke exactly the functions its flow uses, and no other', (strategy) => {
    const waveFlow = [
      'validateSpec',
      'planWaves',
      'runPreChecks',
      'checkControls',
      'awaitGate',
      'sendCommand',
      'evaluateWave',
      'checkAlarms',
      'finalize',
    ];
    const expected = strategy === 'blueGreen' ? [...waveFlow, 'shiftTraffic', 'switchBack'] : waveFlow;
    expect(functionsInvokableBy(strategy)).toEqual(expected.sort());
    expect(functionsInvokableBy(strategy)).toEqual(functionsInvokedBy(strategy));
    for (const callee of ['commandCallback', 'controlDeployment', 'executionStatus'])
      expect(functionsInvokableBy(strategy), callee).not.toContain(callee);
  });

  it.each(STRATEGIES)(
    '%s grants Resource "*" only for X-Ray and CloudWatch Logs delivery, which support no narrower resource',
    (strategy) => {
      const wildcard = statementsOf(roleOf(stack.stateMachines[strategy]))
        .filter((s) => s.Resource === '*')
        .flatMap(actionsOf);
      expect(wildcard.length).toBeGreaterThan(0);
      for (const action of wildcard)
        expect(action).toMatch(
          /^(xray:(PutTraceSegments|PutTelemetryRecords|GetSampling\w+)|logs:\w+(LogDelivery|LogDeliveries|ResourcePolicy|ResourcePolicies|LogGroups))$/,
        );
    },
  );

  it.each(STRATEGIES)('%s is granted nothing beyond invoking its functions, X-Ray and log delivery', (strategy) => {
    const services = statementsOf(roleOf(stack.stateMachines[strategy])).flatMap((s) => actionsOf(s).map((a) => a.split(':')[0]));
    expect([...new Set(services)].sort()).toEqual(['lambda', 'logs', 'xray']);
  });
});

describe('the stack outputs the CLI reads', () => {
  it('name the table and every strategy machine by its strategy', () => {
    const outputs = template.findOutputs('*');
    expect(outputs.TableName?.Value).toEqual({ Ref: logicalIdOf(stack.table.table) });
    const arns = stack.resolve(stack.toJsonString(Object.fromEntries(STRATEGIES.map((s) => [s, stack.stateMachines[s].stateMachineArn]))));
    expect(outputs.StateMachineArns?.Value).toEqual(arns);
  });

  it('list deployments newest first through the byCreatedAt index of the table', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byCreatedAt',
          KeySchema: [
            { AttributeName: 'kind', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });
});

describe('the optional entry points', () => {
  it('are absent unless configured', () => {
    expect(stack.pipelines).toBeUndefined();
    expect(stack.maintenanceWindows).toBeUndefined();
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('add the pipeline rule and the window schedules, starting the configured strategies’ machines', () => {
    const configured = regionalStack({}, ENTRY_POINTS).stack;
    const t = Template.fromStack(configured);

    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.codepipeline'],
        'detail-type': ['CodePipeline Pipeline Execution State Change'],
        detail: { state: ['SUCCEEDED'], pipeline: ['web-release'] },
      },
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: Match.objectLike({ Arn: configured.resolve(configured.stateMachines.rolling.stateMachineArn) }),
    });
  });
});
