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

/** Retries Lambda's transient faults and AWS throttling with jittered backoff. */
function retryTransient<T extends sfn.TaskStateBase>(task: T): T {
  task.addRetry({
    errors: TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
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
export function awaitGate(scope: Construct, name: string, fn: OrchestratorFunctions['awaitGate'], kind: 'approval' | 'resume') {
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
