import { type CodePipelineClient, GetPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import type { ArtifactRevision } from '#core/pipeline.ts';
import type { PipelineLookup } from '#ports';

/** CodePipeline: the source revisions of a pipeline execution. */
export class CodePipelineRevisions implements PipelineLookup {
  constructor(private readonly codepipeline: CodePipelineClient) {}

  /** GetPipelineExecution's artifact revisions, in the order CodePipeline lists them; entries without a name or revision are left out. */
  async revisions(pipelineName: string, pipelineExecutionId: string): Promise<ArtifactRevision[]> {
    const { pipelineExecution } = await this.codepipeline.send(new GetPipelineExecutionCommand({ pipelineName, pipelineExecutionId }));
    return (pipelineExecution?.artifactRevisions ?? []).flatMap(({ name, revisionId }) =>
      name && revisionId ? [{ name, revisionId }] : [],
    );
  }
}
