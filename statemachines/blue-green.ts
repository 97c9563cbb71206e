import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BakeAndCheck } from './fragments/bake-and-check.ts';
import { CommandWait } from './fragments/command-wait.ts';
import { FailurePolicy } from './fragments/failure-policy.ts';
import { Finalize } from './fragments/finalize.ts';
import { ApprovalGate, SafePoint } from './fragments/gates.ts';
import { Start } from './fragments/start.ts';
import type { StrategyFunctions } from './functions.ts';
import { catchAll, invoke, markOutcome } from './tasks.ts';

/** The functions the blue-green machine invokes. */
export interface BlueGreenDeploymentProps {
  readonly functions: StrategyFunctions;
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
    const finalize = new Finalize(this, 'Finalize', { fn: fns.finalize });
    const start = new Start(this, 'Start', { functions: fns, finalize });

    // The rollback: all traffic back to blue, then finalize.
    const switchBack = invoke(this, 'Switch Traffic Back To Blue', fns.switchBack);
    catchAll(markOutcome(this, 'Mark Switch-Back Failed', 'FAILED').next(finalize), switchBack);
    switchBack.next(finalize);

    const safePoint = new SafePoint(this, 'SafePoint', { controls: 'Check Controls', functions: fns, onError: switchBack });
    // A failed gate goes where the spec's onFailure says: switch back (rollback), hold for a human, or stop.
    const onFailure = new FailurePolicy(this, 'FailurePolicy', { functions: fns, rollback: switchBack, resume: safePoint, finalize });
    const deployApproval = new ApprovalGate(this, 'DeployApproval', {
      needsApproval: 'Deploy Needs Approval?',
      approval: 'Wait For Deploy Approval',
      functions: fns,
      onError: switchBack,
    });
    const shiftApproval = new ApprovalGate(this, 'ShiftApproval', {
      needsApproval: 'Traffic Shift Needs Approval?',
      approval: 'Wait For Traffic Shift Approval',
      functions: fns,
      onError: switchBack,
    });
    const deployGreen = new CommandWait(this, 'DeployGreen', {
      send: 'Deploy To Green',
      evaluate: 'Evaluate Green',
      phase: 'deploy',
      functions: fns,
      onError: switchBack,
    });
    const validateGreen = new CommandWait(this, 'ValidateGreen', {
      send: 'Run Validation Command On Green',
      evaluate: 'Evaluate Validation',
      phase: 'validate',
      functions: fns,
      onError: switchBack,
    });
    const greenAlarms = new BakeAndCheck(this, 'GreenAlarms', {
      alarms: 'Check Alarms On Green',
      functions: fns,
      onAlarm: onFailure,
      onError: switchBack,
    });
    const shift = invoke(this, 'Shift Traffic To Green', fns.shiftTraffic);
    catchAll(switchBack, shift);
    const shiftBake = new BakeAndCheck(this, 'ShiftBake', {
      bake: 'Wait For Bake Time',
      alarms: 'Check Alarms After Shift',
      functions: fns,
      onAlarm: onFailure,
      onError: switchBack,
    });

    const greenHealthy = (name: string, next: sfn.IChainable) =>
      new sfn.Choice(this, name).when(sfn.Condition.stringEquals('$.verdict', 'failed'), onFailure).otherwise(next);
    deployGreen.next(greenHealthy('Green Within Error Budget?', validateGreen));
    validateGreen.next(greenHealthy('Green Validated?', greenAlarms));
    greenAlarms.next(safePoint);
    shift.next(shiftBake).next(safePoint);

    const keepBlue = new sfn.Wait(this, 'Keep Blue For Switch-Back', { time: sfn.WaitTime.secondsPath('$.keepBlueSeconds') });
    const next = new sfn.Choice(this, 'What Comes Next?')
      .when(sfn.Condition.numberLessThanJsonPath('$.wave', '$.waveCount'), deployApproval.next(deployGreen))
      .when(sfn.Condition.numberLessThanJsonPath('$.trafficStep', '$.trafficSteps'), shiftApproval.next(shift))
      .otherwise(keepBlue.next(markOutcome(this, 'Mark Deployment Succeeded', 'SUCCEEDED')).next(finalize));
    start.next(safePoint).next(next);
    this.startState = start;
  }
}
