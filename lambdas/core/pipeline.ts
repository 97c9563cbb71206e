import { createHash } from 'node:crypto';
import * as z from 'zod';
import { RevisionNotFound } from '#core/errors.ts';

/**
 * Pipeline deployments: a CodePipeline pipeline's successful execution starts
 * a deployment from the pipeline's spec template. The event, the templates,
 * the trigger function's configuration and the deployment id are defined here,
 * for the trigger (lambdas/app/pipeline-trigger.ts) and the PipelineDeployments
 * construct alike.
 */

export const PIPELINE_EVENT_SOURCE = 'aws.codepipeline';
export const PIPELINE_EXECUTION_STATE_CHANGE = 'CodePipeline Pipeline Execution State Change';

/** A CodePipeline pipeline name, as the CodePipeline API constrains it. */
export const PIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;
/** A source artifact name, as CodePipeline constrains it. */
export const ARTIFACT_NAME = /^[A-Za-z0-9_-]{1,100}$/;
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

/** A JSON text holding a value of `schema`. */
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

/** The trigger function's configuration, from its environment (written by the PipelineDeployments construct). */
export const PipelineTriggerConfig = z.object({
  /** State machine ARN by strategy type (JSON). */
  STATE_MACHINE_ARNS: json(z.record(z.string(), z.string().startsWith('arn:'))),
  /** {@link PipelineTemplates} (JSON). */
  PIPELINES: json(PipelineTemplates),
});
export type PipelineTriggerConfig = z.infer<typeof PipelineTriggerConfig>;

/** The "CodePipeline Pipeline Execution State Change" event CodePipeline puts on the default bus. */
export const PipelineExecutionStateChange = z.object({
  source: z.literal(PIPELINE_EVENT_SOURCE),
  'detail-type': z.literal(PIPELINE_EXECUTION_STATE_CHANGE),
  detail: z.object({
    pipeline: z.string().regex(PIPELINE_NAME),
    'execution-id': z.string().regex(PIPELINE_EXECUTION_ID),
    state: z.string().min(1),
  }),
});
export type PipelineExecutionStateChange = z.infer<typeof PipelineExecutionStateChange>;

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

/**
 * The revision that becomes the version: the named artifact's, else the first.
 * @throws RevisionNotFound when the execution has no such artifact (or none).
 */
export function sourceRevision(revisions: readonly ArtifactRevision[], artifactName: string | undefined): ArtifactRevision {
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
