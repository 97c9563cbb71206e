import { App, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPipelineTriggerConfig } from '#handlers/pipeline-trigger.ts';
import { type PipelineDeployment, PipelineDeployments, type PipelineDeploymentsProps } from '#lib/pipeline-deployments.ts';
import { DOCUMENTED_FAILED_EVENT, DOCUMENTED_SUCCEEDED_EVENT } from '#test/fixtures/codepipeline-events.ts';
import { ACCOUNT, type Json, REGION, type Statement } from '#test/infra/synth.ts';

const PIPELINES: PipelineDeployment[] = [
  {
    pipelineName: 'myPipeline',
    app: 'web',
    environment: 'prod',
    spec: { targets: { tags: { Role: 'web' } }, strategy: { type: 'canary', stages: [25, 100] } },
    artifactName: 'SourceArtifact',
  },
  // No strategy: the spec's default, rolling.
  { pipelineName: 'api-pipeline', app: 'api', environment: 'staging', spec: { targets: { resourceGroup: 'api-hosts' } } },
];

const PIPELINES_SPEC = Object.fromEntries(PIPELINES.map((p) => [p.pipelineName, p.spec]));

interface Synth {
  readonly stack: Stack;
  readonly deployments: PipelineDeployments;
  readonly machines: Record<'rolling' | 'canary' | 'linear', sfn.StateMachine>;
}

/** The construct in a small stack with stub state machines; Lambda bundling skipped (the code asset is not under test). */
function synth(props: Partial<PipelineDeploymentsProps> = {}): Synth {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Pipelines', { env: { account: ACCOUNT, region: REGION } });
  const machine = (strategy: string) =>
    new sfn.StateMachine(stack, `${strategy}Machine`, {
      stateMachineName: `Deployctl-${strategy}`,
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${strategy} Pass`)),
    });
  const machines = { rolling: machine('rolling'), canary: machine('canary'), linear: machine('linear') };
  const deployments = new PipelineDeployments(stack, 'PipelineDeployments', { pipelines: PIPELINES, stateMachines: machines, ...props });
  return { stack, deployments, machines };
}

/**
 * Whether an event pattern of exact values matches an event, as EventBridge
 * decides it: every field the pattern names must be present with one of the
 * listed values; nested objects match field by field.
 */
function patternMatches(pattern: Json, event: Json): boolean {
  if (Array.isArray(pattern)) return pattern.some((value) => value === event);
  if (pattern === null || typeof pattern !== 'object') throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
  return Object.entries(pattern).every(([key, sub]) => key in event && patternMatches(sub, event[key] as Json));
}

describe('PipelineDeployments', () => {
  let built: Synth;
  let template: Template;
  const resolve = (value: unknown) => built.stack.resolve(value);

  beforeAll(() => {
    built = synth();
    template = Template.fromStack(built.stack);
  });

  /** The statements of every policy attached to the trigger function's role, with actions as lists. */
  function triggerStatements(): Statement[] {
    const role = resolve(built.deployments.function.role?.roleName);
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: Match.arrayWith([role]),
      PolicyDocument: { Statement: statements },
    });
    return (statements.asArray() as Statement[]).map((s) => ({ ...s, Action: [s.Action].flat() }));
  }

  const withAction = (action: string) => triggerStatements().filter((s) => [s.Action].flat().includes(action));

  describe('the rule', () => {
    it('matches exactly the SUCCEEDED execution state changes of the configured pipelines', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectEquals({
          source: ['aws.codepipeline'],
          'detail-type': ['CodePipeline Pipeline Execution State Change'],
          detail: { state: ['SUCCEEDED'], pipeline: ['myPipeline', 'api-pipeline'] },
        }),
        State: 'ENABLED',
      });
    });

    it('matches the documented SUCCEEDED event and not the documented FAILED one', () => {
      const pattern = new Capture();
      template.hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern });

      expect(patternMatches(pattern.asObject() as Json, JSON.parse(DOCUMENTED_SUCCEEDED_EVENT))).toBe(true);
      expect(patternMatches(pattern.asObject() as Json, JSON.parse(DOCUMENTED_FAILED_EVENT))).toBe(false);
    });

    it('does not match the documented SUCCEEDED event of a pipeline it was not given', () => {
      const pattern = new Capture();
      template.hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern });
      const event = JSON.parse(DOCUMENTED_SUCCEEDED_EVENT);
      event.detail.pipeline = 'otherPipeline';

      expect(patternMatches(pattern.asObject() as Json, event)).toBe(false);
    });

    it('targets the trigger function with retries, a maximum event age and the dead-letter queue', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        Targets: [
          {
            Arn: resolve(built.deployments.function.functionArn),
            Id: Match.anyValue(),
            DeadLetterConfig: { Arn: resolve(built.deployments.deadLetterQueue.queueArn) },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          },
        ],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: resolve(built.deployments.function.functionArn),
        Principal: 'events.amazonaws.com',
        SourceArn: resolve(built.deployments.rule.ruleArn),
      });
    });

    it('lets EventBridge put undeliverable events in the dead-letter queue', () => {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [resolve(built.deployments.deadLetterQueue.queueUrl)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'sqs:SendMessage',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': resolve(built.deployments.rule.ruleArn) } },
            }),
          ]),
        },
      });
    });
  });

  describe('the function', () => {
    it('sends invocations that still fail after two retries to the dead-letter queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: resolve(built.deployments.function.functionName),
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: resolve(built.deployments.deadLetterQueue.queueArn) } },
      });
    });

    it('runs with the house defaults: Node 22 on ARM64 with active tracing', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Description: 'Starts a deployment when a CodePipeline pipeline execution succeeds',
      });
    });

    it('is configured with the templates the handler reads, and the ARNs of the machines they use only', () => {
      const variables = new Capture();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: 'Starts a deployment when a CodePipeline pipeline execution succeeds',
        Environment: { Variables: variables },
      });
      const { PIPELINES, STATE_MACHINE_ARNS } = variables.asObject() as { PIPELINES: string; STATE_MACHINE_ARNS: Json };

      const config = readPipelineTriggerConfig({ PIPELINES, STATE_MACHINE_ARNS: '{}' });
      expect(config.PIPELINES).toEqual({
        myPipeline: { app: 'web', environment: 'prod', template: PIPELINES_SPEC.myPipeline, artifactName: 'SourceArtifact' },
        'api-pipeline': { app: 'api', environment: 'staging', template: PIPELINES_SPEC['api-pipeline'] },
      });
      expect(STATE_MACHINE_ARNS).toEqual(
        resolve(
          built.stack.toJsonString({ canary: built.machines.canary.stateMachineArn, rolling: built.machines.rolling.stateMachineArn }),
        ),
      );
    });
  });

  describe('the function role', () => {
    it('may start executions of exactly the machines its pipelines use', () => {
      const resources = withAction('states:StartExecution').flatMap((s) => [s.Resource].flat());

      expect(resources).toHaveLength(2);
      expect(resources).toEqual(
        expect.arrayContaining([resolve(built.machines.canary.stateMachineArn), resolve(built.machines.rolling.stateMachineArn)]),
      );
      expect(withAction('states:StartExecution').every((s) => s.Effect === 'Allow' && s.Action.length === 1)).toBe(true);
    });

    it('may read executions of exactly its pipelines, by pipeline ARN', () => {
      const pipelineArn = (name: string) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:codepipeline:${REGION}:${ACCOUNT}:${name}`]],
      });

      expect(withAction('codepipeline:GetPipelineExecution')).toEqual([
        {
          Effect: 'Allow',
          Action: ['codepipeline:GetPipelineExecution'],
          Resource: [pipelineArn('myPipeline'), pipelineArn('api-pipeline')],
        },
      ]);
    });

    it('is allowed nothing else of CodePipeline or Step Functions', () => {
      const actions = triggerStatements().flatMap((s) => [s.Action].flat());

      expect(actions.filter((a) => a.startsWith('codepipeline:') || a.startsWith('states:')).sort()).toEqual([
        'codepipeline:GetPipelineExecution',
        'states:StartExecution',
        'states:StartExecution',
      ]);
    });
  });

  describe('refuses at synthesis', () => {
    const withPipeline = (overrides: Partial<PipelineDeployment>) => ({
      pipelines: [{ ...(PIPELINES[0] as PipelineDeployment), ...overrides }],
    });

    it('a template that makes an invalid spec, naming the pipeline and the fields', () => {
      const spec = { strategy: { type: 'canary', stages: [50, 10] } } as PipelineDeployment['spec'];

      expect(() => synth(withPipeline({ spec }))).toThrow(
        /PipelineDeployments PipelineDeployments: pipeline "myPipeline": invalid deployment spec template: targets: .*strategy\.stages: stages must increase/,
      );
    });

    it('an app that is not a valid spec app', () => {
      expect(() => synth(withPipeline({ app: 'web app' }))).toThrow(/pipeline "myPipeline": invalid deployment spec template: app: /);
    });

    it('a template that sets a field the trigger sets', () => {
      const spec = { ...(PIPELINES[0]?.spec ?? {}), version: '1.0.0' } as PipelineDeployment['spec'];

      expect(() => synth(withPipeline({ spec }))).toThrow('pipeline "myPipeline": spec.version is set by the trigger');
    });

    it('a strategy that has no state machine', () => {
      expect(() => synth(withPipeline({ spec: { targets: { tags: { Role: 'web' } }, strategy: { type: 'allAtOnce' } } }))).toThrow(
        'pipeline "myPipeline": strategy.type allAtOnce has no state machine in stateMachines (given: rolling, canary, linear)',
      );
    });

    it('a pipeline given twice', () => {
      expect(() => synth({ pipelines: [...PIPELINES, PIPELINES[0] as PipelineDeployment] })).toThrow(
        'pipeline "myPipeline" is given twice',
      );
    });

    it('a name that is not a pipeline name', () => {
      expect(() => synth(withPipeline({ pipelineName: 'my pipeline' }))).toThrow(
        'pipelines[0].pipelineName "my pipeline" is not a pipeline name',
      );
    });

    it('no pipeline at all', () => {
      expect(() => synth({ pipelines: [] })).toThrow('give at least one pipeline');
    });
  });
});
