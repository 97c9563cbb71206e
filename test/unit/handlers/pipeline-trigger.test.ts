import { CodePipelineClient, GetPipelineExecutionCommand, type GetPipelineExecutionCommandOutput } from '@aws-sdk/client-codepipeline';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ZodError } from 'zod';
import { CodePipelineRevisions } from '#adapters/aws/codepipeline.ts';
import { SfnExecutions } from '#adapters/aws/executions.ts';
import { logger } from '#commons/powertools.ts';
import { InvalidSpec, RevisionNotFound } from '#core/errors.ts';
import type { PipelineTemplates } from '#core/pipeline.ts';
import { parseSpec } from '#core/spec.ts';
import { createPipelineTrigger, readPipelineTriggerConfig } from '#handlers/pipeline-trigger.ts';
import { DOCUMENTED_FAILED_EVENT, DOCUMENTED_SUCCEEDED_EVENT } from '#test/fixtures/codepipeline-events.ts';
import { lambdaContext } from '#test/support/fixtures.ts';

const succeeded = () => JSON.parse(DOCUMENTED_SUCCEEDED_EVENT) as { detail: Record<string, unknown> };
const EXECUTION_ID = '12345678-1234-5678-abcd-12345678abcd';
const DEPLOYMENT_ID = `myPipeline-${EXECUTION_ID}`;
const COMMIT = '7e1b2c3d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c';
const BUILD_REVISION = 'build-42';
const CANARY_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Deployctl-canary';
const ROLLING_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Deployctl-rolling';
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:execution:Deployctl-canary:${DEPLOYMENT_ID}`;

const template = { targets: { tags: { Role: 'web' } }, strategy: { type: 'canary', stages: [25, 100] }, changeTicket: 'CHG-1' };
const templates: PipelineTemplates = { myPipeline: { app: 'web', environment: 'prod', template } };

/** The GetPipelineExecution answer for the documented execution: a source and a build artifact. */
const pipelineExecution: GetPipelineExecutionCommandOutput = {
  $metadata: {},
  pipelineExecution: {
    pipelineName: 'myPipeline',
    pipelineVersion: 3,
    pipelineExecutionId: EXECUTION_ID,
    status: 'Succeeded',
    artifactRevisions: [
      { name: 'SourceArtifact', revisionId: COMMIT, revisionSummary: 'Fix the login page' },
      { name: 'BuildArtifact', revisionId: BUILD_REVISION },
    ],
  },
};

describe('pipeline-trigger', () => {
  const codepipeline = mockClient(CodePipelineClient);
  const sfn = mockClient(SFNClient);
  const trigger = (t: PipelineTemplates = templates) =>
    createPipelineTrigger({
      executions: new SfnExecutions(new SFNClient({}), { canary: CANARY_ARN, rolling: ROLLING_ARN }),
      pipelines: new CodePipelineRevisions(new CodePipelineClient({})),
      templates: t,
    });

  /** The spec of the one StartExecution sent, read back from its JSON input. */
  function startedSpec(call = 0): unknown {
    return JSON.parse(sfn.commandCalls(StartExecutionCommand)[call]?.args[0].input.input ?? 'null');
  }

  beforeEach(() => {
    codepipeline.reset();
    sfn.reset();
    codepipeline.on(GetPipelineExecutionCommand).resolves(pipelineExecution);
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date('2026-01-01T00:00:00Z') });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('for the documented SUCCEEDED event of a pipeline with a template', () => {
    it('reads the execution of that pipeline with GetPipelineExecution', async () => {
      await trigger()(succeeded(), lambdaContext);

      expect(codepipeline).toReceiveCommandExactlyOnceWith(GetPipelineExecutionCommand, {
        pipelineName: 'myPipeline',
        pipelineExecutionId: EXECUTION_ID,
      });
    });

    it('starts the strategy machine with the deployment id as the execution name', async () => {
      await expect(trigger()(succeeded(), lambdaContext)).resolves.toEqual({
        started: true,
        deploymentId: DEPLOYMENT_ID,
        executionArn: EXECUTION_ARN,
      });

      expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 1);
      expect(sfn).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: CANARY_ARN, name: DEPLOYMENT_ID });
      expect(Object.keys(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input ?? {}).sort()).toEqual([
        'input',
        'name',
        'stateMachineArn',
      ]);
    });

    it('gives the machine the template completed with app, environment, the first source revision and the pipeline as requester', async () => {
      await trigger()(succeeded(), lambdaContext);

      expect(startedSpec()).toEqual(
        parseSpec({
          ...template,
          deploymentId: DEPLOYMENT_ID,
          app: 'web',
          environment: 'prod',
          version: COMMIT,
          requestedBy: 'codepipeline:myPipeline',
        }),
      );
      expect(startedSpec()).toMatchObject({ version: COMMIT, requestedBy: 'codepipeline:myPipeline', changeTicket: 'CHG-1' });
    });
  });

  it('takes the revision of the artifact the template names rather than the first one', async () => {
    await trigger({ myPipeline: { app: 'web', environment: 'prod', template, artifactName: 'BuildArtifact' } })(succeeded(), lambdaContext);

    expect(startedSpec()).toMatchObject({ version: BUILD_REVISION });
  });

  it('refuses an execution without the artifact the template names and starts nothing', async () => {
    const handler = trigger({ myPipeline: { app: 'web', environment: 'prod', template, artifactName: 'ImageArtifact' } });

    await expect(handler(succeeded(), lambdaContext)).rejects.toThrow(RevisionNotFound);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('refuses an execution without any artifact revision and starts nothing', async () => {
    codepipeline.on(GetPipelineExecutionCommand).resolves({ pipelineExecution: { pipelineName: 'myPipeline', artifactRevisions: [] } });

    await expect(trigger()(succeeded(), lambdaContext)).rejects.toThrow(RevisionNotFound);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  describe('when EventBridge delivers the same event again', () => {
    it('sends the same execution name and the same input, so Step Functions answers the execution already started', async () => {
      const handler = trigger();
      await handler(succeeded(), lambdaContext);
      await handler(succeeded(), lambdaContext);

      const [first, second] = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input);
      expect(first?.name).toBe(DEPLOYMENT_ID);
      expect(second?.name).toBe(first?.name);
      expect(second?.input).toBe(first?.input);
    });

    it('starts nothing new and does not fail when the first execution has ended already', async () => {
      sfn
        .on(StartExecutionCommand)
        .rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${EXECUTION_ARN}'`, $metadata: {} }));

      await expect(trigger()(succeeded(), lambdaContext)).resolves.toEqual({
        started: false,
        reason: 'already-started',
        deploymentId: DEPLOYMENT_ID,
      });
    });
  });

  it('ignores an event of a pipeline that has no template and calls neither CodePipeline nor Step Functions', async () => {
    const event = succeeded();
    event.detail.pipeline = 'otherPipeline';

    await expect(trigger()(event, lambdaContext)).resolves.toEqual({ started: false, reason: 'no-template' });
    expect(codepipeline).toReceiveCommandTimes(GetPipelineExecutionCommand, 0);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('ignores a pipeline named like an Object.prototype member when no template has that name', async () => {
    const event = succeeded();
    event.detail.pipeline = '__proto__';

    await expect(trigger()(event, lambdaContext)).resolves.toEqual({ started: false, reason: 'no-template' });
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('ignores the documented FAILED event and calls neither CodePipeline nor Step Functions', async () => {
    await expect(trigger()(JSON.parse(DOCUMENTED_FAILED_EVENT), lambdaContext)).resolves.toEqual({
      started: false,
      reason: 'not-succeeded',
    });
    expect(codepipeline).toReceiveCommandTimes(GetPipelineExecutionCommand, 0);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('rejects an event that is not a pipeline execution state change', async () => {
    const event = { ...succeeded(), 'detail-type': 'CodePipeline Stage Execution State Change' };

    await expect(trigger()(event, lambdaContext)).rejects.toThrow(ZodError);
    expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  describe('when the template makes an invalid spec', () => {
    const badTemplate = { strategy: { type: 'canary', stages: [50, 10] } };

    it('throws InvalidSpec naming the fields at fault and starts nothing', async () => {
      const handler = trigger({ myPipeline: { app: 'web', environment: 'prod', template: badTemplate } });

      const error = await handler(succeeded(), lambdaContext).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidSpec);
      expect((error as InvalidSpec).name).toBe('InvalidSpec');
      expect((error as InvalidSpec).fieldErrors.map((e) => e.field)).toEqual(expect.arrayContaining(['targets', 'strategy.stages']));
      expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
    });

    it('logs the field errors', async () => {
      const error = vi.spyOn(logger, 'error');
      const handler = trigger({ myPipeline: { app: 'web', environment: 'prod', template: badTemplate } });

      await expect(handler(succeeded(), lambdaContext)).rejects.toThrow(InvalidSpec);
      expect(error).toHaveBeenCalledWith(
        expect.stringContaining('invalid deployment spec'),
        expect.objectContaining({
          fieldErrors: expect.arrayContaining([expect.objectContaining({ field: 'strategy.stages', message: 'stages must increase' })]),
        }),
      );
    });

    it('refuses a source revision that is not a valid version, such as an S3 object version id', async () => {
      codepipeline.on(GetPipelineExecutionCommand).resolves({
        pipelineExecution: { artifactRevisions: [{ name: 'SourceArtifact', revisionId: '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY' }] },
      });

      const error = await trigger()(succeeded(), lambdaContext).catch((e: unknown) => e);
      expect((error as InvalidSpec).fieldErrors?.map((e) => e.field)).toEqual(['version']);
      expect(sfn).toReceiveCommandTimes(StartExecutionCommand, 0);
    });
  });

  describe('CodePipelineRevisions', () => {
    it('answers the named revisions in the order GetPipelineExecution lists them, leaving out incomplete entries', async () => {
      codepipeline.on(GetPipelineExecutionCommand).resolves({
        pipelineExecution: {
          artifactRevisions: [
            { name: 'SourceArtifact', revisionId: COMMIT },
            { name: 'Pending' },
            { name: 'BuildArtifact', revisionId: BUILD_REVISION },
          ],
        },
      });

      await expect(new CodePipelineRevisions(new CodePipelineClient({})).revisions('myPipeline', EXECUTION_ID)).resolves.toEqual([
        { name: 'SourceArtifact', revisionId: COMMIT },
        { name: 'BuildArtifact', revisionId: BUILD_REVISION },
      ]);
    });
  });
});

describe('readPipelineTriggerConfig', () => {
  it('reads the state machine ARNs and the pipeline templates from JSON variables', () => {
    const config = readPipelineTriggerConfig({
      STATE_MACHINE_ARNS: JSON.stringify({ canary: CANARY_ARN }),
      PIPELINES: JSON.stringify(templates),
    });

    expect(config).toEqual({ STATE_MACHINE_ARNS: { canary: CANARY_ARN }, PIPELINES: templates });
  });

  it('fails at once when PIPELINES is not JSON', () => {
    expect(() => readPipelineTriggerConfig({ STATE_MACHINE_ARNS: '{}', PIPELINES: '{myPipeline' })).toThrow('not valid JSON');
  });

  it('fails at once when a variable is missing', () => {
    expect(() => readPipelineTriggerConfig({ PIPELINES: JSON.stringify(templates) })).toThrow(ZodError);
  });
});
