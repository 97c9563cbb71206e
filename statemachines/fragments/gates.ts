import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { awaitGate, catchAll, invoke, otherwiseOf } from '#statemachines/tasks.ts';

/** The controls check's name and where its failures go. */
export interface SafePointProps {
  /** The controls check: "Check Controls Before Wave", "Check Controls". */
  readonly controls: string;
  readonly functions: { readonly checkControls: lambda.IFunction; readonly awaitGate: lambda.IFunction };
  /** Where an abort (DeploymentAborted) or any other failure goes (as `$.error`): the rollback. */
  readonly onError: sfn.IChainable;
}

/**
 * The safe point before each step: check the controls (an abort fails the
 * check; a pause or a needed approval is put in `$.gate`), and while paused
 * wait for `resume`, then check again. Its one end is the default of the
 * "Paused?" choice: the way on.
 */
export class SafePoint extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: SafePointProps) {
    super(scope, id);
    const controls = invoke(this, props.controls, props.functions.checkControls);
    const waitResume = awaitGate(this, 'Wait While Paused', props.functions.awaitGate, 'resume');
    catchAll(props.onError, controls, waitResume);
    const paused = new sfn.Choice(this, 'Paused?').when(sfn.Condition.stringEquals('$.gate', 'paused'), waitResume.next(controls));
    controls.next(paused);
    this.startState = controls;
    this.endStates = [otherwiseOf(paused)];
  }
}

/** The approval gate's state names and where its failures go. */
export interface ApprovalGateProps {
  /** The choice on `$.gate`: "Wave Needs Approval?". */
  readonly needsApproval: string;
  /** The wait for `approve`/`reject`: "Wait For Wave Approval". */
  readonly approval: string;
  readonly functions: { readonly awaitGate: lambda.IFunction };
  /** Where a rejection, an abort or a timeout of the wait goes (as `$.error`): the rollback. */
  readonly onError: sfn.IChainable;
}

/**
 * An approval gate: when the controls check put `approval` in `$.gate`, park
 * the execution until an approver answers; otherwise go on at once. Both the
 * approval and the choice's default are its ends.
 */
export class ApprovalGate extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: ApprovalGateProps) {
    super(scope, id);
    const wait = awaitGate(this, props.approval, props.functions.awaitGate, 'approval');
    catchAll(props.onError, wait);
    const choice = new sfn.Choice(this, props.needsApproval).when(sfn.Condition.stringEquals('$.gate', 'approval'), wait);
    this.startState = choice;
    this.endStates = [wait, otherwiseOf(choice)];
  }
}
