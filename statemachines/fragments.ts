import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { OrchestratorFunctions } from '../lib/orchestrator-functions.ts';

/** Errors worth retrying: Lambda's own transient faults and AWS throttling. */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'TooManyUpdates',
];

/** A Lambda task whose output (the handler's return value) becomes the state. */
export function invoke(scope: Construct, name: string, fn: OrchestratorFunctions[keyof OrchestratorFunctions], payload?: sfn.TaskInput) {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    payload: payload ?? sfn.TaskInput.fromJsonPathAt('$'),
    payloadResponseOnly: false,
    retryOnServiceExceptions: true,
    outputPath: '$.Payload',
  });
  return retryTransient(task);
}

/**
 * A function that died (out of memory, timed out, crashed): Step Functions
 * reports these as Lambda.Unknown. Every task is safe to run again (the
 * handlers resume, write once and never send a command twice), so it is retried.
 */
export const CRASH_ERRORS = ['Lambda.Unknown', 'Lambda.ClientExecutionTimeoutException'];

/** Retries Lambda's transient faults and AWS throttling with jittered backoff, and a crashed function twice. */
function retryTransient<T extends sfn.TaskStateBase>(task: T): T {
  task.addRetry({
    errors: TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: CRASH_ERRORS,
    interval: Duration.seconds(1),
    maxAttempts: 2,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/**
 * Sends a command and waits for the status callback, at most `$.waitSeconds`.
 * On timeout the evaluation that follows reads every host's result itself.
 */
export function sendAndWait(
  scope: Construct,
  name: string,
  fn: OrchestratorFunctions['sendCommand'],
  phase: 'deploy' | 'rollback' | 'validate',
) {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      state: sfn.JsonPath.objectAt('$'),
      taskToken: sfn.JsonPath.taskToken,
      phase,
    }),
    taskTimeout: sfn.Timeout.at('$.waitSeconds'),
    resultPath: '$.callback',
  });
  return retryTransient(task);
}

/** How long an execution waits at an approval or a pause before it gives up (and rolls back). */
export const GATE_TIMEOUT = Duration.hours(20);

/**
 * Parks the execution until `approve`/`reject` (kind approval) or `resume`
 * (kind resume) sends the stored task token back; `abort` fails it.
 */
export function awaitGate(scope: Construct, name: string, fn: OrchestratorFunctions['awaitGate'], kind: 'approval' | 'resume' | 'failure') {
  const task = new tasks.LambdaInvoke(scope, name, {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), taskToken: sfn.JsonPath.taskToken, kind }),
    taskTimeout: sfn.Timeout.duration(GATE_TIMEOUT),
    resultPath: sfn.JsonPath.DISCARD,
  });
  return retryTransient(task);
}

/** The evaluation of a command's results, for a wave or for the rollback. */
export function evaluate(
  scope: Construct,
  name: string,
  fn: OrchestratorFunctions['evaluateWave'],
  phase: 'deploy' | 'rollback' | 'validate',
) {
  return invoke(scope, name, fn, sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), phase }));
}

/**
 * The wait for a maintenance window (the spec's `window.outside: 'wait'`):
 * when the pre-checks find the window closed they put its next opening in
 * `$.windowOpensAt`, and the execution waits for it in a Wait state (no
 * Lambda runs, no transitions while it waits), then runs the pre-checks
 * again, which check the window afresh. Returns the choice that follows the
 * pre-checks; its `otherwise` is the way on once they have passed.
 *
 * Nothing can wake a Wait state: an abort or pause asked for meanwhile takes
 * effect when the wait is over (the pre-checks step aside for an abort, and
 * the controls check after them acts on both).
 */
export function waitForWindow(scope: Construct, preChecks: sfn.IChainable): sfn.Choice {
  const wait = new sfn.Wait(scope, 'Wait For Maintenance Window', { time: sfn.WaitTime.timestampPath('$.windowOpensAt') });
  wait.next(preChecks);
  return new sfn.Choice(scope, 'Window Closed?').when(sfn.Condition.isPresent('$.windowOpensAt'), wait);
}

/**
 * What a failed gate (error budget, validation, alarm) leads to, by the
 * spec's `onFailure` (carried in `$.onFailure`): `pause` parks the execution
 * for a human (`resume` goes on at `resume`, `abort` rolls back), `abort`
 * ends it FAILED with the hosts left as they are, anything else (`rollback`,
 * the default) goes to `rollback`. Errors that are not a failed gate (an
 * abort, a task that keeps failing) do not come here: they roll back.
 */
export function failurePolicy(
  scope: Construct,
  fn: OrchestratorFunctions['awaitGate'],
  next: { rollback: sfn.IChainable; resume: sfn.IChainable; finalize: sfn.IChainable },
): sfn.Choice {
  const hold = awaitGate(scope, 'Wait For Operator After Failure', fn, 'failure');
  hold.addCatch(next.rollback, { errors: ['States.ALL'], resultPath: '$.error' });
  hold.next(next.resume);
  const stop = new sfn.Pass(scope, 'Stop Without Rollback', { result: sfn.Result.fromString('FAILED'), resultPath: '$.outcome' });
  stop.next(next.finalize);
  return new sfn.Choice(scope, 'Failure Policy?')
    .when(sfn.Condition.stringEquals('$.onFailure', 'pause'), hold)
    .when(sfn.Condition.stringEquals('$.onFailure', 'abort'), stop)
    .otherwise(next.rollback);
}
