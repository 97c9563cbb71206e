import { Arn, Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  ARTIFACT_NAME,
  PIPELINE_EVENT_SOURCE,
  PIPELINE_EXECUTION_STATE_CHANGE,
  PIPELINE_NAME,
  type PipelineTemplates,
  TRIGGER_FIELDS,
} from '#core/pipeline.ts';
import { DeploymentSpec, type DeploymentSpecInput, toFieldErrors } from '#core/spec.ts';
import { FUNCTIONS } from '#registry';
import { OrchestratorFunction } from './orchestrator-function.ts';

/** Stands in for the source revision when a template is checked at synthesis. */
const PLACEHOLDER_VERSION = '0.0.0-placeholder';
/** Lambda allows 4 KB of environment in all; the state machine ARNs and the Powertools settings need the rest. */
const MAX_PIPELINES_JSON = 3000;

/** A deployment spec without the fields the trigger sets: app, environment, version, requestedBy and deploymentId. */
export type PipelineSpecTemplate = Omit<DeploymentSpecInput, (typeof TRIGGER_FIELDS)[number]>;

/** One pipeline whose successful executions deploy. */
export interface PipelineDeployment {
  /** The pipeline's name (a literal, not a token). */
  readonly pipelineName: string;
  /** The spec's `app`. */
  readonly app: string;
  /** The spec's `environment`. */
  readonly environment: string;
  /** The rest of the spec; values must be literals, as they are checked at synthesis. */
  readonly spec: PipelineSpecTemplate;
  /**
   * The source artifact whose revision becomes the spec's `version`; an
   * execution without it deploys nothing.
   * @default - the execution's first artifact revision
   */
  readonly artifactName?: string;
}

export interface PipelineDeploymentsProps {
  /** The pipelines and their spec templates; at least one. */
  readonly pipelines: readonly PipelineDeployment[];
  /** The state machine of each strategy type (`allAtOnce`, `rolling`, ...). Only those the templates use are granted. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * How often EventBridge retries delivering an event to the function.
   * @default 8
   */
  readonly retryAttempts?: number;
}

/**
 * Deploys what a CodePipeline pipeline built: an EventBridge rule on the
 * pipeline's execution-state-change event (SUCCEEDED) invokes a function that
 * reads the execution's source revision and starts the strategy's state
 * machine with the pipeline's spec template and that revision as the version.
 * Events that cannot be delivered, and invocations that fail (an invalid
 * spec, a missing revision), end in the dead-letter queue.
 */
export class PipelineDeployments extends Construct {
  /** The trigger function. */
  public readonly function: NodejsFunction;
  /** The rule on successful executions of the configured pipelines. */
  public readonly rule: events.Rule;
  /** Events not delivered to the function and invocations that failed. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PipelineDeploymentsProps) {
    super(scope, id);
    const strategies = validatePipelines(id, props);
    const stack = Stack.of(this);
    const names = props.pipelines.map((p) => p.pipelineName);
    const machines = Object.fromEntries([...new Set(strategies)].sort().map((s) => [s, props.stateMachines[s] as sfn.IStateMachine]));

    const templates: PipelineTemplates = Object.fromEntries(
      props.pipelines.map((p) => [
        p.pipelineName,
        {
          app: p.app,
          environment: p.environment,
          template: { ...p.spec },
          ...(p.artifactName === undefined ? {} : { artifactName: p.artifactName }),
        },
      ]),
    );
    const pipelinesJson = JSON.stringify(templates);
    if (pipelinesJson.length > MAX_PIPELINES_JSON) {
      throw new Error(
        `PipelineDeployments ${id}: the pipeline templates take ${pipelinesJson.length} characters, more than the ${MAX_PIPELINES_JSON} the function's environment can hold; split them over several PipelineDeployments`,
      );
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.function = new OrchestratorFunction(this, 'Trigger', {
      name: 'pipelineTrigger',
      environment: {
        STATE_MACHINE_ARNS: stack.toJsonString(Object.fromEntries(Object.entries(machines).map(([s, m]) => [s, m.stateMachineArn]))),
        PIPELINES: pipelinesJson,
      },
    }).function;
    // EventBridge invokes asynchronously: a failed invocation is retried by Lambda, then kept in the queue.
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: sendMessageTo(this.deadLetterQueue),
    });

    // The calls the registry lists for the trigger (lambdas/registry.ts): start the templates' machines, read the pipelines.
    const calls: readonly string[] = FUNCTIONS.pipelineTrigger.calls.services;
    if (calls.includes('states:StartExecution')) for (const machine of Object.values(machines)) machine.grantStartExecution(this.function);
    if (calls.includes('codepipeline:GetPipelineExecution'))
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['codepipeline:GetPipelineExecution'],
          resources: names.map((name) => Arn.format({ service: 'codepipeline', resource: name }, stack)),
        }),
      );

    this.rule = new events.Rule(this, 'Rule', {
      description: 'Successful CodePipeline executions -> deployctl deployment',
      eventPattern: {
        source: [PIPELINE_EVENT_SOURCE],
        detailType: [PIPELINE_EXECUTION_STATE_CHANGE],
        detail: { state: ['SUCCEEDED'], pipeline: names },
      },
      targets: [
        new targets.LambdaFunction(this.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}

/**
 * An SQS destination for failed invocations that grants only sqs:SendMessage, what Lambda needs to
 * deliver there (SqsDestination also grants GetQueueAttributes and GetQueueUrl, which Lambda never calls).
 */
function sendMessageTo(queue: sqs.IQueue): lambda.IDestination {
  return {
    bind: (_scope, fn) => {
      queue.grant(fn, 'sqs:SendMessage');
      return { destination: queue.queueArn };
    },
  };
}

/** Checks the props; answers each pipeline's strategy type. */
function validatePipelines(id: string, props: PipelineDeploymentsProps): string[] {
  const fail = (message: string): never => {
    throw new Error(`PipelineDeployments ${id}: ${message}`);
  };
  if (props.pipelines.length === 0) fail('give at least one pipeline');
  if (
    props.retryAttempts !== undefined &&
    !(Number.isInteger(props.retryAttempts) && props.retryAttempts >= 0 && props.retryAttempts <= 185)
  )
    fail(`retryAttempts must be a whole number from 0 to 185, got ${props.retryAttempts}`);
  const seen = new Set<string>();
  return props.pipelines.map((p, index) => {
    if (Token.isUnresolved(p.pipelineName)) fail(`pipelines[${index}].pipelineName must be a literal name, not a token`);
    if (!PIPELINE_NAME.test(p.pipelineName))
      fail(`pipelines[${index}].pipelineName "${p.pipelineName}" is not a pipeline name (1 to 100 of A-Z a-z 0-9 . @ _ -)`);
    if (seen.has(p.pipelineName)) fail(`pipeline "${p.pipelineName}" is given twice`);
    seen.add(p.pipelineName);
    const label = `pipeline "${p.pipelineName}"`;
    for (const field of TRIGGER_FIELDS) {
      if (Object.hasOwn(p.spec, field)) fail(`${label}: spec.${field} is set by the trigger: leave it out of the template`);
    }
    if (p.artifactName !== undefined && !ARTIFACT_NAME.test(p.artifactName))
      fail(`${label}: artifactName "${p.artifactName}" is not an artifact name (1 to 100 of A-Z a-z 0-9 _ -)`);
    const parsed = DeploymentSpec.safeParse({ ...p.spec, app: p.app, environment: p.environment, version: PLACEHOLDER_VERSION });
    if (!parsed.success) {
      const errors = toFieldErrors(parsed.error).map((e) => `${e.field}: ${e.message}`);
      return fail(`${label}: invalid deployment spec template: ${errors.join('; ')}`);
    }
    const strategy = parsed.data.strategy.type;
    if (!Object.hasOwn(props.stateMachines, strategy)) {
      const given = Object.keys(props.stateMachines).join(', ') || 'none';
      fail(`${label}: strategy.type ${strategy} has no state machine in stateMachines (given: ${given})`);
    }
    return strategy;
  });
}
