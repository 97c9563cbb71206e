import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { OrchestratorFunctions } from '../lib/orchestrator-functions.ts';
import { awaitGate, evaluate, failurePolicy, invoke, sendAndWait } from './fragments.ts';
import { finalizeStates, startStates } from './wave-deployment.ts';

export interface BlueGreenDeploymentProps {
  readonly functions: OrchestratorFunctions;
}

/**
 * Blue-green: deploy to the idle green fleet, run the validation command and
 * the alarm gate on green, then shift the ALB listener's weights to green step
 * by step, baking and checking alarms after each; keep blue for
 * keepBlueSeconds and finish. Any failure before or during the bake sends all
 * traffic back to blue. Abort, pause and approval act at the same safe points
 * as the wave strategies: before the deploy and before each traffic step.
 */
export class BlueGreenDeployment extends Construct {
  /** The first state. */
  public readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: BlueGreenDeploymentProps) {
    super(scope, id);
    const fns = props.functions;
    const finalize = finalizeStates(this, fns);
    const start = startStates(this, fns, finalize);

    const controls = invoke(this, 'Check Controls', fns.checkControls);
    const waitResume = awaitGate(this, 'Wait While Paused', fns.awaitGate, 'resume');
    const deployApproval = awaitGate(this, 'Wait For Deploy Approval', fns.awaitGate, 'approval');
    const shiftApproval = awaitGate(this, 'Wait For Traffic Shift Approval', fns.awaitGate, 'approval');
    const deployGreen = sendAndWait(this, 'Deploy To Green', fns.sendCommand, 'deploy');
    const evaluateGreen = evaluate(this, 'Evaluate Green', fns.evaluateWave, 'deploy');
    const validateGreen = sendAndWait(this, 'Run Validation Command On Green', fns.sendCommand, 'validate');
    const evaluateValidation = evaluate(this, 'Evaluate Validation', fns.evaluateWave, 'validate');
    const greenAlarms = invoke(this, 'Check Alarms On Green', fns.checkAlarms);
    const shift = invoke(this, 'Shift Traffic To Green', fns.shiftTraffic);
    const bake = new sfn.Wait(this, 'Wait For Bake Time', { time: sfn.WaitTime.secondsPath('$.bakeSeconds') });
    const shiftAlarms = invoke(this, 'Check Alarms After Shift', fns.checkAlarms);
    const keepBlue = new sfn.Wait(this, 'Keep Blue For Switch-Back', { time: sfn.WaitTime.secondsPath('$.keepBlueSeconds') });

    const switchBack = invoke(this, 'Switch Traffic Back To Blue', fns.switchBack);
    const markSwitchBackFailed = new sfn.Pass(this, 'Mark Switch-Back Failed', {
      result: sfn.Result.fromString('FAILED'),
      resultPath: '$.outcome',
    });
    switchBack.addCatch(markSwitchBackFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    switchBack.next(finalize);
    markSwitchBackFailed.next(finalize);
    const markSucceeded = new sfn.Pass(this, 'Mark Deployment Succeeded', {
      result: sfn.Result.fromString('SUCCEEDED'),
      resultPath: '$.outcome',
    });
    markSucceeded.next(finalize);

    // A failed gate goes where the spec's onFailure says: switch back (rollback), hold for a human, or stop.
    const onFailure = failurePolicy(this, fns.awaitGate, { rollback: switchBack, resume: controls, finalize });

    // Catchers are tried in order: a command wait's timeout (settled by a reconciling read) before the catch-all.
    deployGreen.addCatch(evaluateGreen, { errors: ['States.Timeout'], resultPath: '$.callback' });
    validateGreen.addCatch(evaluateValidation, { errors: ['States.Timeout'], resultPath: '$.callback' });
    for (const alarms of [greenAlarms, shiftAlarms]) alarms.addCatch(onFailure, { errors: ['AlarmFiring'], resultPath: '$.error' });
    const guarded = [controls, waitResume, deployApproval, shiftApproval, deployGreen, evaluateGreen, validateGreen, evaluateValidation];
    for (const task of [...guarded, greenAlarms, shift, shiftAlarms]) {
      task.addCatch(switchBack, { errors: ['States.ALL'], resultPath: '$.error' });
    }

    const greenHealthy = (name: string, next: sfn.IChainable) =>
      new sfn.Choice(this, name).when(sfn.Condition.stringEquals('$.verdict', 'failed'), onFailure).otherwise(next);

    deployGreen.next(evaluateGreen).next(greenHealthy('Green Within Error Budget?', validateGreen));
    validateGreen.next(evaluateValidation).next(greenHealthy('Green Validated?', greenAlarms));
    greenAlarms.next(controls);
    shift.next(bake).next(shiftAlarms).next(controls);

    const needsApproval = (name: string, wait: sfn.TaskStateBase, then: sfn.IChainable) =>
      new sfn.Choice(this, name).when(sfn.Condition.stringEquals('$.gate', 'approval'), wait.next(then)).otherwise(then);
    const next = new sfn.Choice(this, 'What Comes Next?')
      .when(
        sfn.Condition.numberLessThanJsonPath('$.wave', '$.waveCount'),
        needsApproval('Deploy Needs Approval?', deployApproval, deployGreen),
      )
      .when(
        sfn.Condition.numberLessThanJsonPath('$.trafficStep', '$.trafficSteps'),
        needsApproval('Traffic Shift Needs Approval?', shiftApproval, shift),
      )
      .otherwise(keepBlue.next(markSucceeded));
    const paused = new sfn.Choice(this, 'Paused?')
      .when(sfn.Condition.stringEquals('$.gate', 'paused'), waitResume.next(controls))
      .otherwise(next);

    start.ready.otherwise(controls.next(paused));
    this.startState = start.first;
  }
}
