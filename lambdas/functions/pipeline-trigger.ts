import { executions } from '#adapters/aws/wiring/executions.ts';
import { pipelines } from '#adapters/aws/wiring/pipelines.ts';
import { createPipelineTrigger, readPipelineTriggerConfig } from '#handlers/pipeline-trigger.ts';

/** Lambda entry: the trigger over the AWS adapters and the pipeline templates (`PIPELINES`). */
export const handler = createPipelineTrigger({ executions, pipelines, templates: readPipelineTriggerConfig().PIPELINES });
