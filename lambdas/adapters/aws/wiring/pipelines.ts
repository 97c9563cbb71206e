import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { CodePipelineRevisions } from '#adapters/aws/codepipeline.ts';
import type { PipelineLookup } from '#ports';
import { CLIENT_CONFIG, traced } from './client.ts';

/** The pipeline trigger's lookup of a pipeline execution's source revisions. */
export const pipelines: PipelineLookup = new CodePipelineRevisions(traced(new CodePipelineClient(CLIENT_CONFIG)));
