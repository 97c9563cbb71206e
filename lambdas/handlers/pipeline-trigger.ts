import { createHash } from 'node:crypto';
import * as z from 'zod';
import { InvalidSpec, RevisionNotFound } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { DeploymentSpec, toFieldErrors } from '../core/spec.ts';
import type { Executions } from '../ports.ts';

export const PIPELINE_EVENT_SOURCE = 'aws.codepipeline';
export const PIPELINE_EXECUTION_STATE_CHANGE = 'CodePipeline Pipeline Execution State Change';

/** A CodePipeline pipeline name, as the CodePipeline API constrains it. */
export const PIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;
/** A pipeline execution id (GetPipelineExecution's pattern). */
const PIPELINE_EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEPLOYMENT_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Spec fields the trigger sets itself: a pipeline's template may not give them. */
export const TRIGGER_FIELDS = ['deploymentId', 'app', 'environment', 'version', 'requestedBy'] as const;

/** One source revision of a pipeline execution (an entry of GetPipelineExecution's `artifactRevisions`). */
export interface ArtifactRevision {
  readonly name: string;
  readonly revisionId: string;
}

/** CodePipeline: what a pipeline execution was built from. */
export interface PipelineLookup {
  revisions(pipelineName: string, pipelineExecutionId: string): Promise<ArtifactRevision[]>;
}

/** How one pipeline's successful executions become deployments. */
export const PipelineTemplate = z
  .object({
    app: z.string().min(1),
    environment: z.string().min(1),
    /** The spec without app, environment, version, requestedBy and deploymentId, which the trigger sets. */
    template: z.record(z.string(), z.unknown()),
    /** The source artifact whose revision is the version; the execution's first artifact when not given. */
    artifactName: z.string().min(1).optional(),
  })
  .strict();
export type PipelineTemplate = z.infer<typeof PipelineTemplate>;

/** The templates by pipeline name: the `PIPELINES` variable of the trigger function. */
export const PipelineTemplates = z.record(z.string().regex(PIPELINE_NAME, 'not a CodePipeline pipeline name'), PipelineTemplate);
export type PipelineTemplates = z.infer<typeof PipelineTemplates>;

function json<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** The trigger function's configuration, from its environment. */
export const PipelineTriggerConfig = z.object({
  /** State machine ARN by strategy type (JSON). */
  STATE_MACHINE_ARNS: json(z.record(z.string(), z.string().startsWith('arn:'))),
  /** {@link PipelineTemplates} (JSON). */
  PIPELINES: json(PipelineTemplates),
});
export type PipelineTriggerConfig = z.infer<typeof PipelineTriggerConfig>;

/** Reads and checks the configuration: a missing or malformed variable fails at cold start. */
export function readPipelineTriggerConfig(env: NodeJS.ProcessEnv = process.env): PipelineTriggerConfig {
  return PipelineTriggerConfig.parse(env);
}

/** The "CodePipeline Pipeline Execution State Change" event CodePipeline puts on the default bus. */
const PipelineExecutionStateChange = z.object({
  source: z.literal(PIPELINE_EVENT_SOURCE),
  'detail-type': z.literal(PIPELINE_EXECUTION_STATE_CHANGE),
  detail: z.object({
    pipeline: z.string().regex(PIPELINE_NAME),
    'execution-id': z.string().regex(PIPELINE_EXECUTION_ID),
    state: z.string().min(1),
  }),
});

/**
 * The deployment id (and so the execution name) of a pipeline execution: the
 * same for every delivery of its event, so that a repeated event starts
 * nothing new. `<pipeline>-<execution id>` when that is a valid id; otherwise
 * the name is cut to fit, its characters outside [A-Za-z0-9_-] replaced, and a
 * hash of the full name keeps two such pipelines apart.
 */
export function pipelineDeploymentId(pipelineName: string, pipelineExecutionId: string): string {
  const readable = `${pipelineName}-${pipelineExecutionId}`;
  if (DEPLOYMENT_ID.test(readable)) return readable;
  const hash = createHash('sha256').update(pipelineName).digest('hex').slice(0, 8);
  const room = 80 - pipelineExecutionId.length - hash.length - 2;
  const name = pipelineName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, Math.max(room, 1));
  return `${name}-${hash}-${pipelineExecutionId}`;
}

function sourceRevision(revisions: readonly ArtifactRevision[], artifactName: string | undefined): ArtifactRevision {
  if (artifactName !== undefined) {
    const named = revisions.find((r) => r.name === artifactName);
    if (!named) {
      const names = revisions.map((r) => r.name).join(', ') || 'none';
      throw new RevisionNotFound(`the pipeline execution has no source artifact named ${artifactName} (it has: ${names})`);
    }
    return named;
  }
  const first = revisions[0];
  if (!first) throw new RevisionNotFound('the pipeline execution has no source artifact revision');
  return first;
}

export interface PipelineTriggerDeps {
  readonly executions: Executions;
  readonly pipelines: PipelineLookup;
  /** Templates by pipeline name. */
  readonly templates: Readonly<PipelineTemplates>;
}

export type PipelineTriggerResult =
  | { readonly started: true; readonly deploymentId: string; readonly executionArn: string }
  | { readonly started: false; readonly reason: 'not-succeeded' | 'no-template' }
  | { readonly started: false; readonly reason: 'already-started'; readonly deploymentId: string };

/**
 * Starts a deployment when a pipeline execution succeeds: the pipeline's spec
 * template, with the execution's source revision as the version. The event
 * does not carry the revision, so it is read with GetPipelineExecution. The
 * execution name is the deployment id, derived from the pipeline execution,
 * so a repeated event starts nothing new. An invalid spec is refused
 * (InvalidSpec, with the field errors logged) and starts nothing.
 */
export function createPipelineTrigger(deps: PipelineTriggerDeps) {
  return task(async (event: unknown): Promise<PipelineTriggerResult> => {
    const { detail } = PipelineExecutionStateChange.parse(event);
    const pipeline = detail.pipeline;
    const pipelineExecutionId = detail['execution-id'];
    logger.appendKeys({ pipeline, pipelineExecutionId });
    if (detail.state !== 'SUCCEEDED') {
      logger.info('the pipeline execution did not succeed: ignored', { state: detail.state });
      return { started: false, reason: 'not-succeeded' };
    }
    const config = Object.hasOwn(deps.templates, pipeline) ? deps.templates[pipeline] : undefined;
    if (!config) {
      logger.info('no deployment template for this pipeline: ignored');
      return { started: false, reason: 'no-template' };
    }
    const deploymentId = pipelineDeploymentId(pipeline, pipelineExecutionId);
    logger.appendKeys({ deploymentId });

    const revision = sourceRevision(await deps.pipelines.revisions(pipeline, pipelineExecutionId), config.artifactName);
    const parsed = DeploymentSpec.safeParse({
      ...config.template,
      deploymentId,
      app: config.app,
      environment: config.environment,
      version: revision.revisionId,
      requestedBy: `codepipeline:${pipeline}`,
    });
    if (!parsed.success) {
      const fieldErrors = toFieldErrors(parsed.error);
      logger.error('the pipeline template makes an invalid deployment spec: nothing started', {
        fieldErrors,
        artifact: revision.name,
      });
      throw new InvalidSpec(fieldErrors, { cause: parsed.error });
    }
    const spec = parsed.data;
    try {
      const { executionArn } = await deps.executions.start(spec.strategy.type, deploymentId, spec);
      logger.info('deployment started', { executionArn, version: spec.version, artifact: revision.name, strategy: spec.strategy.type });
      return { started: true, deploymentId, executionArn };
    } catch (error) {
      // Step Functions refuses a second execution of the same name once the first has ended (or with another input).
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        logger.info('this pipeline execution started its deployment already: nothing new started');
        return { started: false, reason: 'already-started', deploymentId };
      }
      throw error;
    }
  });
}
