import { describe, expect, it } from 'vitest';
import { type PipelineTriggerPorts, startPipelineDeployment } from '#app/pipeline-trigger.ts';
import { InvalidSpec, RevisionNotFound } from '#core/errors.ts';
import type { ArtifactRevision, PipelineExecutionStateChange, PipelineTemplates } from '#core/pipeline.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import { FakeExecutions } from '#test/support/memory-ports.ts';

const EXECUTION_ID = '12345678-1234-5678-abcd-12345678abcd';
const DEPLOYMENT_ID = `myPipeline-${EXECUTION_ID}`;
const templates: PipelineTemplates = {
  myPipeline: { app: 'web', environment: 'prod', template: { targets: { tags: { Role: 'web' } }, strategy: { type: 'rolling' } } },
};

function event(state = 'SUCCEEDED', pipeline = 'myPipeline'): PipelineExecutionStateChange {
  return {
    source: 'aws.codepipeline',
    'detail-type': 'CodePipeline Pipeline Execution State Change',
    detail: { pipeline, 'execution-id': EXECUTION_ID, state },
  };
}

/** The CodePipeline port answering `revisions`, and the lookups made; Step Functions in memory (test/support/memory-ports.ts). */
function fakes(revisions: ArtifactRevision[] = [{ name: 'SourceArtifact', revisionId: 'abc123' }]) {
  const lookups: string[] = [];
  const executions = new FakeExecutions();
  const ports: PipelineTriggerPorts = {
    pipelines: {
      revisions: async (pipelineName, pipelineExecutionId) => {
        lookups.push(`${pipelineName} ${pipelineExecutionId}`);
        return revisions;
      },
    },
    executions,
  };
  return { ports, lookups, started: executions.started as { strategy: string; name: string; input: DeploymentSpec }[] };
}

describe('startPipelineDeployment', () => {
  it('starts the template completed with the source revision as version, named by the pipeline execution', async () => {
    const { ports, lookups, started } = fakes();

    const result = await startPipelineDeployment(ports, templates, event());

    expect(result).toEqual({
      started: true,
      deploymentId: DEPLOYMENT_ID,
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:deployctl-rolling:${DEPLOYMENT_ID}`,
    });
    expect(lookups).toEqual([`myPipeline ${EXECUTION_ID}`]);
    expect(started).toHaveLength(1);
    expect(started[0]?.strategy).toBe('rolling');
    expect(started[0]?.input).toMatchObject({
      deploymentId: DEPLOYMENT_ID,
      app: 'web',
      environment: 'prod',
      version: 'abc123',
      requestedBy: 'codepipeline:myPipeline',
    });
  });

  it('starts one execution for two deliveries of the same event while the deployment runs', async () => {
    const { ports, started } = fakes();

    const first = await startPipelineDeployment(ports, templates, event());
    const again = await startPipelineDeployment(ports, templates, event());

    expect(again).toEqual(first);
    expect(started).toHaveLength(1);
  });

  it('starts nothing new for a delivery after the deployment ended, and answers the deployment already started', async () => {
    const { ports } = fakes();
    const ended: PipelineTriggerPorts = {
      ...ports,
      executions: {
        start: async () => Promise.reject(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' })),
      },
    };

    await expect(startPipelineDeployment(ended, templates, event())).resolves.toEqual({
      started: false,
      reason: 'already-started',
      deploymentId: DEPLOYMENT_ID,
    });
  });

  it('ignores an execution that did not succeed without reading CodePipeline', async () => {
    const { ports, lookups, started } = fakes();

    await expect(startPipelineDeployment(ports, templates, event('FAILED'))).resolves.toEqual({ started: false, reason: 'not-succeeded' });
    expect(lookups).toEqual([]);
    expect(started).toEqual([]);
  });

  it('ignores a pipeline without a template, even one named like an Object.prototype member', async () => {
    const { ports, lookups, started } = fakes();

    for (const pipeline of ['otherPipeline', 'constructor', '__proto__']) {
      await expect(startPipelineDeployment(ports, templates, event('SUCCEEDED', pipeline))).resolves.toEqual({
        started: false,
        reason: 'no-template',
      });
    }
    expect(lookups).toEqual([]);
    expect(started).toEqual([]);
  });

  it('refuses a revision that makes an invalid spec with InvalidSpec naming the version, and starts nothing', async () => {
    const { ports, started } = fakes([{ name: 'SourceArtifact', revisionId: '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' }]);

    const error = await startPipelineDeployment(ports, templates, event()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidSpec);
    expect((error as InvalidSpec).fieldErrors.map((e) => e.field)).toEqual(['version']);
    expect(started).toEqual([]);
  });

  it('refuses an execution without source revisions with RevisionNotFound, and starts nothing', async () => {
    const { ports, started } = fakes([]);

    await expect(startPipelineDeployment(ports, templates, event())).rejects.toThrow(RevisionNotFound);
    expect(started).toEqual([]);
  });

  it('lets any other failure to start through', async () => {
    const { ports } = fakes();
    const failing: PipelineTriggerPorts = { ...ports, executions: { start: async () => Promise.reject(new Error('throttled')) } };

    await expect(startPipelineDeployment(failing, templates, event())).rejects.toThrow('throttled');
  });
});
