import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CodePipelineRevisions } from '../adapters/aws/codepipeline.ts';
import { SfnExecutions } from '../adapters/aws/executions.ts';
import { tracer } from '../commons/powertools.ts';
import { createPipelineTrigger, readPipelineTriggerConfig } from '../handlers/pipeline-trigger.ts';

const config = readPipelineTriggerConfig();
/** Adaptive retry mode: throttled SDK calls back off with jitter. */
const clientConfig = { retryMode: 'adaptive', maxAttempts: 8 } as const;

/** Lambda entry: the handler over the AWS adapters, configured from the environment. */
export const handler = createPipelineTrigger({
  executions: new SfnExecutions(tracer.captureAWSv3Client(new SFNClient(clientConfig)), config.STATE_MACHINE_ARNS),
  pipelines: new CodePipelineRevisions(tracer.captureAWSv3Client(new CodePipelineClient(clientConfig))),
  templates: config.PIPELINES,
});
