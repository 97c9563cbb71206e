import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ERRORS } from '#core/errors.ts';
import { lambdaTask } from './retry-policy.ts';

/** The phase a command and its evaluation carry. */
export type CommandPhase = 'deploy' | 'rollback' | 'validate';

/** What a gate waits for: an approval, a resume after a pause, an operator after a failed gate. */
export type GateKind = 'approval' | 'resume' | 'failure';

/** How long an execution waits at an approval or a pause before it gives up (and rolls back). */
export const GATE_TIMEOUT = Duration.hours(20);

/** A Lambda task whose output (the handler's return value) becomes the state. */
export function invoke(scope: Construct, name: string, fn: lambda.IFunction, payload?: sfn.TaskInput): tasks.LambdaInvoke {
  return lambdaTask(scope, name, {
    lambdaFunction: fn,
    payload: payload ?? sfn.TaskInput.fromJsonPathAt('$'),
    payloadResponseOnly: false,
    outputPath: '$.Payload',
  });
}

/** The evaluation of a command's results, for a wave, a validation or the rollback. */
export function evaluate(scope: Construct, name: string, fn: lambda.IFunction, phase: CommandPhase): tasks.LambdaInvoke {
  return invoke(scope, name, fn, sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), phase }));
}

/**
 * Sends a command and waits for the status callback, at most `$.waitSeconds`.
 * On timeout the evaluation that follows reads every host's result itself.
 */
export function sendAndWait(scope: Construct, name: string, fn: lambda.IFunction, phase: CommandPhase): tasks.LambdaInvoke {
  return lambdaTask(scope, name, {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), taskToken: sfn.JsonPath.taskToken, phase }),
    taskTimeout: sfn.Timeout.at('$.waitSeconds'),
    resultPath: '$.callback',
  });
}

/**
 * Parks the execution until `approve`/`reject` (kind approval) or `resume`
 * (kind resume) sends the stored task token back; `abort` fails it.
 */
export function awaitGate(scope: Construct, name: string, fn: lambda.IFunction, kind: GateKind): tasks.LambdaInvoke {
  return lambdaTask(scope, name, {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), taskToken: sfn.JsonPath.taskToken, kind }),
    taskTimeout: sfn.Timeout.duration(GATE_TIMEOUT),
    resultPath: sfn.JsonPath.DISCARD,
  });
}

/** A state that can catch errors: a task, a Map, a Parallel. */
export interface Catching {
  addCatch(handler: sfn.IChainable, props?: sfn.CatchProps): unknown;
}

/** Sends any error of the tasks (as `$.error`) to `handler`: the last catcher each task gets. */
export function catchAll(handler: sfn.IChainable, ...states: Catching[]): void {
  for (const state of states) state.addCatch(handler, { errors: [ERRORS.States.ALL], resultPath: '$.error' });
}

/** A Pass state that records how the deployment ended (`$.outcome`, which finalize reads). */
export function markOutcome(scope: Construct, name: string, outcome: 'SUCCEEDED' | 'FAILED'): sfn.Pass {
  return new sfn.Pass(scope, name, { result: sfn.Result.fromString(outcome), resultPath: '$.outcome' });
}

/**
 * An INextable for a Choice's default branch, so that a fragment can end
 * with a Choice: `next(state)` sets the choice's `otherwise`.
 */
export function otherwiseOf(choice: sfn.Choice): sfn.INextable {
  return {
    next: (state: sfn.IChainable) => {
      choice.otherwise(state);
      return sfn.Chain.custom(choice, state.endStates, state);
    },
  };
}
