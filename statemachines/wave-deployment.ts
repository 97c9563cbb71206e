import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { OrchestratorFunctions } from '../lib/orchestrator-functions.ts';
import { awaitGate, evaluate, failurePolicy, invoke, sendAndWait, waitForWindow } from './fragments.ts';

/** How a strategy names its waves in the console graph. */
export interface WaveNames {
  /** "Wave", "Canary Stage", "Linear Step", "All Hosts". */
  readonly wave: string;
  /** The plural in "More ...?": "Waves", "Canary Stages", "Linear Steps". */
  readonly waves: string;
  /** The wait after each wave: "Wait For Bake Time", "Wait Linear Interval". */
  readonly bake: string;
}

export interface WaveDeploymentProps {
  readonly functions: OrchestratorFunctions;
  readonly names: WaveNames;
}

/**
 * The wave loop every host-by-host strategy shares (all-at-once, rolling,
 * canary, linear): validate and lock, plan, pre-check, then at each safe point
 * act on abort / pause / approval, send the wave, wait for the callback,
 * evaluate, bake and check alarms; roll back the changed hosts on any failure;
 * always finalize. The strategies differ in their wave plan and their names.
 */
export class WaveDeployment extends Construct {
  /** The first state. */
  public readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: WaveDeploymentProps) {
    super(scope, id);
    const fns = props.functions;
    const { wave: noun, bake: bakeName } = props.names;

    const finalize = finalizeStates(this, fns);
    const start = startStates(this, fns, finalize);
    const controls = invoke(this, `Check Controls Before ${noun}`, fns.checkControls);
    const waitResume = awaitGate(this, 'Wait While Paused', fns.awaitGate, 'resume');
    const waitApproval = awaitGate(this, `Wait For ${noun} Approval`, fns.awaitGate, 'approval');
    const sendWave = sendAndWait(this, `Deploy ${noun}`, fns.sendCommand, 'deploy');
    const evaluateWave = evaluate(this, `Evaluate ${noun}`, fns.evaluateWave, 'deploy');
    const bake = new sfn.Wait(this, bakeName, { time: sfn.WaitTime.secondsPath('$.bakeSeconds') });
    const alarms = invoke(this, `Check Alarms After ${noun}`, fns.checkAlarms);
    const end = endStates(this, fns, finalize);

    const onFailure = failurePolicy(this, fns.awaitGate, { rollback: end.rollback, resume: controls, finalize });

    // Catchers are tried in order: a wave's timeout (settled by a reconciling read) before the catch-all.
    sendWave.addCatch(evaluateWave, { errors: ['States.Timeout'], resultPath: '$.callback' });
    alarms.addCatch(onFailure, { errors: ['AlarmFiring'], resultPath: '$.error' });
    for (const task of [controls, waitResume, waitApproval, sendWave, evaluateWave, alarms])
      task.addCatch(end.rollback, { errors: ['States.ALL'], resultPath: '$.error' });

    const approvalNeeded = new sfn.Choice(this, `${noun} Needs Approval?`)
      .when(sfn.Condition.stringEquals('$.gate', 'approval'), waitApproval.next(sendWave))
      .otherwise(sendWave);
    const moreWaves = new sfn.Choice(this, `More ${props.names.waves}?`)
      .when(sfn.Condition.numberLessThanJsonPath('$.wave', '$.waveCount'), approvalNeeded)
      .otherwise(end.succeed);
    const paused = new sfn.Choice(this, 'Paused?')
      .when(sfn.Condition.stringEquals('$.gate', 'paused'), waitResume.next(controls))
      .otherwise(moreWaves);

    start.ready.otherwise(controls.next(paused));
    sendWave
      .next(evaluateWave)
      .next(
        new sfn.Choice(this, 'Within Error Budget?')
          .when(sfn.Condition.stringEquals('$.verdict', 'failed'), onFailure)
          .otherwise(bake.next(alarms).next(controls)),
      );
    this.startState = start.first;
  }
}

/**
 * validate (and lock) -> plan -> pre-checks (waiting for the maintenance
 * window if the spec says so), with the catches that need no rollback.
 * `ready` is the choice after the pre-checks: its `otherwise` is the way on.
 */
export function startStates(scope: Construct, fns: OrchestratorFunctions, finalize: sfn.IChainable) {
  const validate = invoke(
    scope,
    'Validate Spec And Acquire Lock',
    fns.validateSpec,
    sfn.TaskInput.fromObject({ spec: sfn.JsonPath.objectAt('$'), executionName: sfn.JsonPath.stringAt('$$.Execution.Name') }),
  );
  const plan = invoke(scope, 'Plan Waves', fns.planWaves);
  const preChecks = invoke(scope, 'Run Pre-Checks', fns.runPreChecks);
  const specRejected = new sfn.Fail(scope, 'Spec Rejected', { error: 'InvalidSpec', causePath: '$.error.Cause' });
  const refused = new sfn.Fail(scope, 'Deployment Refused', { error: 'LockHeld', causePath: '$.error.Cause' });
  const notStarted = new sfn.Fail(scope, 'Deployment Not Started', { error: 'DeploymentNotStarted', causePath: '$.error.Cause' });
  validate.addCatch(specRejected, { errors: ['InvalidSpec'], resultPath: '$.error' });
  validate.addCatch(refused, { errors: ['LockHeld'], resultPath: '$.error' });
  validate.addCatch(notStarted, { errors: ['States.ALL'], resultPath: '$.error' });

  // Before any host is touched a failure only needs recording.
  const markFailed = new sfn.Pass(scope, 'Mark Deployment Failed', { result: sfn.Result.fromString('FAILED'), resultPath: '$.outcome' });
  for (const task of [plan, preChecks]) task.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  markFailed.next(finalize);
  const windowClosed = waitForWindow(scope, preChecks);
  validate.next(plan).next(preChecks).next(windowClosed);
  return { first: validate, ready: windowClosed };
}

/** Finalize, then end the execution with a state that says how the deployment ended. */
export function finalizeStates(scope: Construct, fns: OrchestratorFunctions): sfn.TaskStateBase {
  const finalize = invoke(scope, 'Finalize Deployment', fns.finalize);
  const finalizeFailed = new sfn.Fail(scope, 'Finalize Failed', { error: 'FinalizeFailed', causePath: '$.error.Cause' });
  finalize.addCatch(finalizeFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  finalize.next(
    new sfn.Choice(scope, 'Deployment Outcome?')
      .when(sfn.Condition.stringEquals('$.status', 'SUCCEEDED'), new sfn.Succeed(scope, 'Deployment Succeeded'))
      .when(
        sfn.Condition.stringEquals('$.status', 'ROLLED_BACK'),
        new sfn.Fail(scope, 'Deployment Rolled Back', { error: 'DeploymentRolledBack', causePath: '$.reason' }),
      )
      .when(
        sfn.Condition.stringEquals('$.status', 'ABORTED'),
        new sfn.Fail(scope, 'Deployment Aborted', { error: 'DeploymentAborted', causePath: '$.reason' }),
      )
      .otherwise(new sfn.Fail(scope, 'Deployment Failed', { error: 'DeploymentFailed', causePath: '$.reason' })),
  );
  return finalize;
}

/** Success and the host rollback, both ending in finalize. */
function endStates(scope: Construct, fns: OrchestratorFunctions, finalize: sfn.IChainable) {
  const markSucceeded = new sfn.Pass(scope, 'Mark Deployment Succeeded', {
    result: sfn.Result.fromString('SUCCEEDED'),
    resultPath: '$.outcome',
  });
  const sendRollback = sendAndWait(scope, 'Send Rollback Command', fns.sendCommand, 'rollback');
  const evaluateRollback = evaluate(scope, 'Record Rollback Results', fns.evaluateWave, 'rollback');
  const markRollbackFailed = new sfn.Pass(scope, 'Mark Rollback Failed', {
    result: sfn.Result.fromString('FAILED'),
    resultPath: '$.outcome',
  });
  sendRollback.addCatch(evaluateRollback, { errors: ['States.Timeout'], resultPath: '$.callback' });
  for (const task of [sendRollback, evaluateRollback]) task.addCatch(markRollbackFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  markSucceeded.next(finalize);
  markRollbackFailed.next(finalize);
  sendRollback.next(evaluateRollback).next(finalize);
  return { succeed: markSucceeded, rollback: sendRollback };
}
