import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERRORS } from '#core/errors.ts';
import type { StrategyFunctions } from '#statemachines/functions.ts';
import { catchAll, invoke, markOutcome, otherwiseOf } from '#statemachines/tasks.ts';

/** The Fail states of a start that did not start anything. */
export interface NotStartedNames {
  /** The spec is invalid (InvalidSpec): "Spec Rejected". */
  readonly rejected: string;
  /**
   * Another deployment holds the lock (LockHeld): "Deployment Refused".
   * @default no such catch (the fan-out takes no lock)
   */
  readonly refused?: string;
  /** Anything else: "Deployment Not Started". */
  readonly notStarted: string;
}

/**
 * The first task of a machine: it gets the execution's input as `spec` and
 * the execution's name, validates and records the deployment. The refusals
 * end the execution in Fail states at once: there is nothing to finalize.
 */
export function validateAndRecord(scope: Construct, name: string, fn: lambda.IFunction, names: NotStartedNames): tasks.LambdaInvoke {
  const task = invoke(
    scope,
    name,
    fn,
    sfn.TaskInput.fromObject({ spec: sfn.JsonPath.objectAt('$'), executionName: sfn.JsonPath.stringAt('$$.Execution.Name') }),
  );
  const fail = (stateName: string, error: string) => new sfn.Fail(scope, stateName, { error, causePath: '$.error.Cause' });
  task.addCatch(fail(names.rejected, ERRORS.InvalidSpec), { errors: [ERRORS.InvalidSpec], resultPath: '$.error' });
  if (names.refused) task.addCatch(fail(names.refused, ERRORS.LockHeld), { errors: [ERRORS.LockHeld], resultPath: '$.error' });
  catchAll(fail(names.notStarted, ERRORS.DeploymentNotStarted), task);
  return task;
}

/** The start functions and where a failure after validation goes. */
export interface StartProps {
  readonly functions: Pick<StrategyFunctions, 'validateSpec' | 'planWaves' | 'runPreChecks'>;
  /** Where a failure of the plan or the pre-checks goes (after "Mark Deployment Failed"): the finalize fragment. */
  readonly finalize: sfn.IChainable;
}

/**
 * validate (and lock) -> plan -> pre-checks, waiting for the maintenance
 * window if the spec says so, with the catches that need no rollback. Its one
 * end is the default of the "Window Closed?" choice: the way on once the
 * pre-checks have passed.
 *
 * The wait for the window (the spec's `window.outside: 'wait'`): when the
 * pre-checks find the window closed they put its next opening in
 * `$.windowOpensAt`, and the execution waits for it in a Wait state (no
 * Lambda runs, no transitions while it waits), then runs the pre-checks
 * again, which check the window afresh. Nothing can wake a Wait state: an
 * abort or pause asked for meanwhile takes effect when the wait is over (the
 * pre-checks step aside for an abort, and the controls check after them acts
 * on both).
 */
export class Start extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: StartProps) {
    super(scope, id);
    const fns = props.functions;
    const validate = validateAndRecord(this, 'Validate Spec And Acquire Lock', fns.validateSpec, {
      rejected: 'Spec Rejected',
      refused: 'Deployment Refused',
      notStarted: 'Deployment Not Started',
    });
    const plan = invoke(this, 'Plan Waves', fns.planWaves);
    const preChecks = invoke(this, 'Run Pre-Checks', fns.runPreChecks);

    // Before any host is touched a failure only needs recording.
    const markFailed = markOutcome(this, 'Mark Deployment Failed', 'FAILED');
    catchAll(markFailed, plan, preChecks);
    markFailed.next(props.finalize);

    const wait = new sfn.Wait(this, 'Wait For Maintenance Window', { time: sfn.WaitTime.timestampPath('$.windowOpensAt') });
    wait.next(preChecks);
    const windowClosed = new sfn.Choice(this, 'Window Closed?').when(sfn.Condition.isPresent('$.windowOpensAt'), wait);
    validate.next(plan).next(preChecks).next(windowClosed);

    this.startState = validate;
    this.endStates = [otherwiseOf(windowClosed)];
  }
}
