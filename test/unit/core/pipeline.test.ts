import { describe, expect, it } from 'vitest';
import { RevisionNotFound } from '#core/errors.ts';
import { pipelineDeploymentId, sourceRevision } from '#core/pipeline.ts';

const EXECUTION_ID = '12345678-1234-5678-abcd-12345678abcd';
const DEPLOYMENT_ID = `myPipeline-${EXECUTION_ID}`;

describe('pipelineDeploymentId', () => {
  const valid = /^[A-Za-z0-9_-]{1,80}$/;

  it('joins the pipeline name and the execution id when that is a valid deployment id', () => {
    expect(pipelineDeploymentId('myPipeline', EXECUTION_ID)).toBe(DEPLOYMENT_ID);
  });

  it('fits a long name with characters outside the id alphabet into 80 valid characters, the same every time', () => {
    const name = `team.web@${'x'.repeat(90)}`;

    const id = pipelineDeploymentId(name, EXECUTION_ID);
    expect(id).toMatch(valid);
    expect(id.endsWith(EXECUTION_ID)).toBe(true);
    expect(pipelineDeploymentId(name, EXECUTION_ID)).toBe(id);
  });

  it('keeps apart two pipelines whose names differ only in characters the id cannot hold', () => {
    expect(pipelineDeploymentId('web.prod', EXECUTION_ID)).not.toBe(pipelineDeploymentId('web@prod', EXECUTION_ID));
    expect(pipelineDeploymentId('web.prod', EXECUTION_ID)).toMatch(valid);
  });
});

describe('sourceRevision', () => {
  const revisions = [
    { name: 'SourceArtifact', revisionId: 'abc123' },
    { name: 'BuildArtifact', revisionId: 'build-42' },
  ];

  it('takes the first revision when the template names no artifact', () => {
    expect(sourceRevision(revisions, undefined)).toEqual({ name: 'SourceArtifact', revisionId: 'abc123' });
  });

  it('takes the named artifact when the template names one', () => {
    expect(sourceRevision(revisions, 'BuildArtifact')).toEqual({ name: 'BuildArtifact', revisionId: 'build-42' });
  });

  it('refuses an execution without the named artifact, naming the artifacts it has', () => {
    expect(() => sourceRevision(revisions, 'ImageArtifact')).toThrow(RevisionNotFound);
    expect(() => sourceRevision(revisions, 'ImageArtifact')).toThrow('it has: SourceArtifact, BuildArtifact');
  });

  it('refuses an execution without any revision', () => {
    expect(() => sourceRevision([], undefined)).toThrow(RevisionNotFound);
  });
});
