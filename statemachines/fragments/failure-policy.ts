import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { awaitGate, catchAll, markOutcome } from '#statemachines/tasks.ts';

/** Where each branch of the failure policy goes. */
export interface FailurePolicyProps {
  readonly functions: { readonly awaitGate: lambda.IFunction };
  /** The rollback: the default policy, and where an abort while held goes. */
  readonly rollback: sfn.IChainable;
  /** Where a held execution goes on after `resume`: the safe point. */
  readonly resume: sfn.IChainable;
  /** Where `abort` (stop without rollback) goes: the finalize fragment. */
  readonly finalize: sfn.IChainable;
}

/**
 * What a failed gate (error budget, validation, alarm) leads to, by the
 * spec's `onFailure` (carried in `$.onFailure`): `pause` parks the execution
 * for a human (`resume` goes on at `resume`, `abort` rolls back), `abort`
 * ends it FAILED with the hosts left as they are, anything else (`rollback`,
 * the default) goes to `rollback`. Errors that are not a failed gate (an
 * abort, a task that keeps failing) do not come here: they roll back.
 * No end states: every branch leads elsewhere.
 */
export class FailurePolicy extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: FailurePolicyProps) {
    super(scope, id);
    const hold = awaitGate(this, 'Wait For Operator After Failure', props.functions.awaitGate, 'failure');
    catchAll(props.rollback, hold);
    hold.next(props.resume);
    const stop = markOutcome(this, 'Stop Without Rollback', 'FAILED');
    stop.next(props.finalize);
    this.startState = new sfn.Choice(this, 'Failure Policy?')
      .when(sfn.Condition.stringEquals('$.onFailure', 'pause'), hold)
      .when(sfn.Condition.stringEquals('$.onFailure', 'abort'), stop)
      .otherwise(props.rollback);
  }
}
