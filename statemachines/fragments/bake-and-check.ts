import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERRORS } from '#core/errors.ts';
import { catchAll, invoke } from '#statemachines/tasks.ts';

/** The state names of a bake and alarm check, and where its failures go. */
export interface BakeAndCheckProps {
  /**
   * The bake: a Wait for `$.bakeSeconds` ("Wait For Bake Time").
   * @default no bake: the alarms are checked at once
   */
  readonly bake?: string;
  /** The alarm check: "Check Alarms After Wave". */
  readonly alarms: string;
  readonly functions: { readonly checkAlarms: lambda.IFunction };
  /** Where a firing alarm goes (AlarmFiring, as `$.error`): the failure policy. */
  readonly onAlarm: sfn.IChainable;
  /** Where any other failure of the check goes (as `$.error`): the rollback. */
  readonly onError: sfn.IChainable;
}

/**
 * The bake and the alarm gate after a wave or a traffic step: wait for the
 * bake time, then check the deployment's alarms. A firing alarm is a failed
 * gate (the spec's failure policy decides); anything else rolls back.
 */
export class BakeAndCheck extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: BakeAndCheckProps) {
    super(scope, id);
    const alarms = invoke(this, props.alarms, props.functions.checkAlarms);
    alarms.addCatch(props.onAlarm, { errors: [ERRORS.AlarmFiring], resultPath: '$.error' });
    catchAll(props.onError, alarms);
    if (props.bake) {
      const bake = new sfn.Wait(this, props.bake, { time: sfn.WaitTime.secondsPath('$.bakeSeconds') });
      bake.next(alarms);
      this.startState = bake;
    } else {
      this.startState = alarms;
    }
    this.endStates = [alarms];
  }
}
