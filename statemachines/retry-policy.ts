import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CRASH_ERRORS, TRANSIENT_ERRORS } from '#core/errors.ts';

/**
 * The one retry policy of every Lambda task, in every machine: Lambda's
 * transient faults and AWS throttling with jittered exponential backoff, and a
 * function that died (CRASH_ERRORS) twice, as every handler is safe to run
 * again. It comes after the LambdaInvoke default service-exception retrier.
 */
export const RETRY_POLICY: readonly sfn.RetryProps[] = [
  { errors: [...TRANSIENT_ERRORS], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL },
  { errors: [...CRASH_ERRORS], interval: Duration.seconds(1), maxAttempts: 2, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL },
];

/** Adds {@link RETRY_POLICY} to a task and returns it. */
export function withRetryPolicy<T extends sfn.TaskStateBase>(task: T): T {
  for (const retry of RETRY_POLICY) task.addRetry({ ...retry, errors: [...(retry.errors ?? [])] });
  return task;
}
