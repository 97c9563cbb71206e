import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERRORS } from '#core/errors.ts';
import { catchAll, invoke } from '#statemachines/tasks.ts';

/** The state names of a finalize fragment. */
export interface FinalizeNames {
  /** The finalize task: "Finalize Deployment". */
  readonly finalize: string;
  /** The Fail state when finalize itself fails: "Finalize Failed". */
  readonly finalizeFailed: string;
  /** The choice on `$.status`: "Deployment Outcome?". */
  readonly outcome: string;
  /** The Succeed state: "Deployment Succeeded". */
  readonly succeeded: string;
  /** The Fail state for ROLLED_BACK: "Deployment Rolled Back". */
  readonly rolledBack: string;
  /**
   * The Fail state for ABORTED: "Deployment Aborted".
   * @default no ABORTED branch (the fan-out cannot be aborted)
   */
  readonly aborted?: string;
  /** The Fail state for any other status: "Deployment Failed". */
  readonly failed: string;
}

/** The names the strategy machines use. */
export const DEPLOYMENT_FINALIZE_NAMES: FinalizeNames = {
  finalize: 'Finalize Deployment',
  finalizeFailed: 'Finalize Failed',
  outcome: 'Deployment Outcome?',
  succeeded: 'Deployment Succeeded',
  rolledBack: 'Deployment Rolled Back',
  aborted: 'Deployment Aborted',
  failed: 'Deployment Failed',
};

/** The finalize function and the state names. */
export interface FinalizeProps {
  /** The finalize function: records the terminal status (from `$.outcome`), releases the lock. */
  readonly fn: lambda.IFunction;
  /** @default DEPLOYMENT_FINALIZE_NAMES */
  readonly names?: FinalizeNames;
}

/**
 * Finalize, then end the execution with a state that says how the deployment
 * ended: Succeed, or a Fail state named after the status. Every path of a
 * machine ends here once a record exists. No end states: all are terminal.
 */
export class Finalize extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[] = [];

  constructor(scope: Construct, id: string, props: FinalizeProps) {
    super(scope, id);
    const names = props.names ?? DEPLOYMENT_FINALIZE_NAMES;
    const finalize = invoke(this, names.finalize, props.fn);
    catchAll(new sfn.Fail(this, names.finalizeFailed, { error: ERRORS.FinalizeFailed, causePath: '$.error.Cause' }), finalize);
    const outcome = new sfn.Choice(this, names.outcome)
      .when(sfn.Condition.stringEquals('$.status', 'SUCCEEDED'), new sfn.Succeed(this, names.succeeded))
      .when(
        sfn.Condition.stringEquals('$.status', 'ROLLED_BACK'),
        new sfn.Fail(this, names.rolledBack, { error: ERRORS.DeploymentRolledBack, causePath: '$.reason' }),
      );
    if (names.aborted)
      outcome.when(
        sfn.Condition.stringEquals('$.status', 'ABORTED'),
        new sfn.Fail(this, names.aborted, { error: ERRORS.DeploymentAborted, causePath: '$.reason' }),
      );
    outcome.otherwise(new sfn.Fail(this, names.failed, { error: ERRORS.DeploymentFailed, causePath: '$.reason' }));
    finalize.next(outcome);
    this.startState = finalize;
  }
}
