import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ERRORS } from '#core/errors.ts';
import { type CommandPhase, catchAll, evaluate, sendAndWait } from '#statemachines/tasks.ts';

/** The state names of a command wait, its phase, and where its failures go. */
export interface CommandWaitProps {
  /** The sending task: "Deploy Wave", "Send Rollback Command". */
  readonly send: string;
  /** The evaluating task: "Evaluate Wave", "Record Rollback Results". */
  readonly evaluate: string;
  readonly phase: CommandPhase;
  readonly functions: { readonly sendCommand: lambda.IFunction; readonly evaluateWave: lambda.IFunction };
  /** Where any other failure of either task goes (as `$.error`): the rollback, or the rollback's own failure. */
  readonly onError: sfn.IChainable;
}

/**
 * Send a command and wait for its status callback (at most `$.waitSeconds`),
 * then evaluate the results. A wait that times out goes to the same
 * evaluation, which then reads every host's result itself (the reconcile);
 * catchers are tried in order, so the timeout comes before the catch-all.
 * Its one end is the evaluation; its verdict is in `$.verdict`.
 */
export class CommandWait extends sfn.StateMachineFragment {
  public readonly startState: sfn.State;
  public readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: CommandWaitProps) {
    super(scope, id);
    const send = sendAndWait(this, props.send, props.functions.sendCommand, props.phase);
    const evaluation = evaluate(this, props.evaluate, props.functions.evaluateWave, props.phase);
    send.addCatch(evaluation, { errors: [ERRORS.States.Timeout], resultPath: '$.callback' });
    catchAll(props.onError, send, evaluation);
    send.next(evaluation);
    this.startState = send;
    this.endStates = [evaluation];
  }
}
