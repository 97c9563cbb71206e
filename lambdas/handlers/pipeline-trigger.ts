import { type PipelineTriggerPorts, type PipelineTriggerResult, startPipelineDeployment } from '#app/pipeline-trigger.ts';
import { task } from '#commons/powertools.ts';
import { PipelineExecutionStateChange, type PipelineTemplates, PipelineTriggerConfig } from '#core/pipeline.ts';

/** Reads and checks the trigger's configuration: a missing or malformed variable fails at cold start. */
export function readPipelineTriggerConfig(env: NodeJS.ProcessEnv = process.env): PipelineTriggerConfig {
  return PipelineTriggerConfig.parse(env);
}

/** The ports of the pipeline trigger and the templates by pipeline name. */
export interface PipelineTriggerDeps extends PipelineTriggerPorts {
  readonly templates: Readonly<PipelineTemplates>;
}

/**
 * The pipeline trigger: parses the "CodePipeline Pipeline Execution State
 * Change" event (a ZodError for anything else) and starts the pipeline's
 * deployment (lambdas/app/pipeline-trigger.ts). InvalidSpec and
 * RevisionNotFound fail the invocation: its retries and dead-letter queue
 * (lib/pipeline-deployments.ts) take it from there.
 */
export function createPipelineTrigger(deps: PipelineTriggerDeps) {
  return task(
    async (event: unknown): Promise<PipelineTriggerResult> =>
      startPipelineDeployment(deps, deps.templates, PipelineExecutionStateChange.parse(event)),
  );
}
