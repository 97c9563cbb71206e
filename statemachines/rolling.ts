import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { OrchestratorFunctions } from '../lib/orchestrator-functions.ts';
import { evaluate, invoke, sendAndWait } from './fragments.ts';

export interface RollingDeploymentProps {
  readonly functions: OrchestratorFunctions;
}

/**
 * The rolling strategy's flow: validate and lock, plan, pre-check, then for
 * each wave send, wait for the callback, evaluate, bake and check alarms;
 * roll back the changed hosts on any failure; always finalize.
 */
export class RollingDeployment extends Construct {
  /** The first state. */
  public readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: RollingDeploymentProps) {
    super(scope, id);
    const fns = props.functions;

    const validate = invoke(
      this,
      'Validate Spec And Acquire Lock',
      fns.validateSpec,
      sfn.TaskInput.fromObject({ spec: sfn.JsonPath.objectAt('$'), executionName: sfn.JsonPath.stringAt('$$.Execution.Name') }),
    );
    const plan = invoke(this, 'Plan Waves', fns.planWaves);
    const preChecks = invoke(this, 'Run Pre-Checks', fns.runPreChecks);
    const sendWave = sendAndWait(this, 'Send Wave Command', fns.sendCommand, 'deploy');
    const evaluateWave = evaluate(this, 'Evaluate Wave', fns.evaluateWave, 'deploy');
    const bake = new sfn.Wait(this, 'Wait For Bake Time', { time: sfn.WaitTime.secondsPath('$.bakeSeconds') });
    const alarms = invoke(this, 'Check Alarms', fns.checkAlarms);
    const sendRollback = sendAndWait(this, 'Send Rollback Command', fns.sendCommand, 'rollback');
    const evaluateRollback = evaluate(this, 'Record Rollback Results', fns.evaluateWave, 'rollback');
    const finalize = invoke(this, 'Finalize Deployment', fns.finalize);

    const markFailed = new sfn.Pass(this, 'Mark Deployment Failed', { result: sfn.Result.fromString('FAILED'), resultPath: '$.outcome' });
    const markSucceeded = new sfn.Pass(this, 'Mark Deployment Succeeded', {
      result: sfn.Result.fromString('SUCCEEDED'),
      resultPath: '$.outcome',
    });
    const markRollbackFailed = new sfn.Pass(this, 'Mark Rollback Failed', {
      result: sfn.Result.fromString('FAILED'),
      resultPath: '$.outcome',
    });

    const succeeded = new sfn.Succeed(this, 'Deployment Succeeded');
    const rolledBack = new sfn.Fail(this, 'Deployment Rolled Back', { error: 'DeploymentRolledBack', causePath: '$.reason' });
    const failed = new sfn.Fail(this, 'Deployment Failed', { error: 'DeploymentFailed', causePath: '$.reason' });
    const specRejected = new sfn.Fail(this, 'Spec Rejected', { error: 'InvalidSpec', causePath: '$.error.Cause' });
    const refused = new sfn.Fail(this, 'Deployment Refused', { error: 'LockHeld', causePath: '$.error.Cause' });
    const notStarted = new sfn.Fail(this, 'Deployment Not Started', { error: 'DeploymentNotStarted', causePath: '$.error.Cause' });
    const finalizeFailed = new sfn.Fail(this, 'Finalize Failed', { error: 'FinalizeFailed', causePath: '$.error.Cause' });

    // Before any host is touched a failure only needs recording; after, the changed hosts roll back.
    validate.addCatch(specRejected, { errors: ['InvalidSpec'], resultPath: '$.error' });
    validate.addCatch(refused, { errors: ['LockHeld'], resultPath: '$.error' });
    validate.addCatch(notStarted, { errors: ['States.ALL'], resultPath: '$.error' });
    for (const task of [plan, preChecks]) task.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    sendWave.addCatch(evaluateWave, { errors: ['States.Timeout'], resultPath: '$.callback' });
    for (const task of [sendWave, evaluateWave, alarms]) task.addCatch(sendRollback, { errors: ['States.ALL'], resultPath: '$.error' });
    sendRollback.addCatch(evaluateRollback, { errors: ['States.Timeout'], resultPath: '$.callback' });
    for (const task of [sendRollback, evaluateRollback])
      task.addCatch(markRollbackFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    finalize.addCatch(finalizeFailed, { errors: ['States.ALL'], resultPath: '$.error' });

    finalize.next(
      new sfn.Choice(this, 'Deployment Outcome?')
        .when(sfn.Condition.stringEquals('$.status', 'SUCCEEDED'), succeeded)
        .when(sfn.Condition.stringEquals('$.status', 'ROLLED_BACK'), rolledBack)
        .otherwise(failed),
    );
    markFailed.next(finalize);
    markRollbackFailed.next(finalize);
    markSucceeded.next(finalize);
    sendRollback.next(evaluateRollback).next(finalize);

    const moreWaves = new sfn.Choice(this, 'More Waves?')
      .when(sfn.Condition.numberLessThanJsonPath('$.wave', '$.waveCount'), sendWave)
      .otherwise(markSucceeded);

    this.startState = validate
      .next(plan)
      .next(preChecks)
      .next(sendWave)
      .next(evaluateWave)
      .next(
        new sfn.Choice(this, 'Within Error Budget?')
          .when(sfn.Condition.stringEquals('$.verdict', 'failed'), sendRollback)
          .otherwise(bake.next(alarms).next(moreWaves)),
      );
  }
}
