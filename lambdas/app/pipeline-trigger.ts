import { logger } from '#commons/powertools.ts';
import { InvalidSpec } from '#core/errors.ts';
import { type PipelineExecutionStateChange, type PipelineTemplates, pipelineDeploymentId, sourceRevision } from '#core/pipeline.ts';
import { DeploymentSpec, toFieldErrors } from '#core/spec.ts';
import type { Executions, PipelineLookup } from '#ports';

/** What the pipeline trigger talks to: Step Functions to start, CodePipeline to read the revision. */
export interface PipelineTriggerPorts {
  readonly executions: Executions;
  readonly pipelines: PipelineLookup;
}

/** What became of a pipeline execution's event. */
export type PipelineTriggerResult =
  | { readonly started: true; readonly deploymentId: string; readonly executionArn: string }
  | { readonly started: false; readonly reason: 'not-succeeded' | 'no-template' }
  | { readonly started: false; readonly reason: 'already-started'; readonly deploymentId: string };

/**
 * Starts a deployment when a pipeline execution succeeds: the pipeline's spec
 * template, with the execution's source revision as the version. The event
 * does not carry the revision, so it is read from CodePipeline. The execution
 * name is the deployment id, derived from the pipeline execution, so a
 * repeated event starts nothing new.
 * @throws InvalidSpec (with the field errors logged) when the template and the
 * revision make an invalid spec; nothing is started.
 * @throws RevisionNotFound when the execution lacks the template's artifact.
 */
export async function startPipelineDeployment(
  ports: PipelineTriggerPorts,
  templates: Readonly<PipelineTemplates>,
  event: PipelineExecutionStateChange,
): Promise<PipelineTriggerResult> {
  const { pipeline, 'execution-id': pipelineExecutionId, state } = event.detail;
  logger.appendKeys({ pipeline, pipelineExecutionId });
  if (state !== 'SUCCEEDED') {
    logger.info('the pipeline execution did not succeed: ignored', { state });
    return { started: false, reason: 'not-succeeded' };
  }
  const config = Object.hasOwn(templates, pipeline) ? templates[pipeline] : undefined;
  if (!config) {
    logger.info('no deployment template for this pipeline: ignored');
    return { started: false, reason: 'no-template' };
  }
  const deploymentId = pipelineDeploymentId(pipeline, pipelineExecutionId);
  logger.appendKeys({ deploymentId });

  const revision = sourceRevision(await ports.pipelines.revisions(pipeline, pipelineExecutionId), config.artifactName);
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
    logger.error('the pipeline template makes an invalid deployment spec: nothing started', { fieldErrors, artifact: revision.name });
    throw new InvalidSpec(fieldErrors, { cause: parsed.error });
  }
  const spec = parsed.data;
  try {
    const { executionArn } = await ports.executions.start(spec.strategy.type, deploymentId, spec);
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
}
