import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CRASH_ERRORS, TRANSIENT_ERRORS } from '#core/errors.ts';

/**
 * The one retry policy of every Lambda task, in every machine: Lambda's
 * transient faults and AWS throttling with jittered exponential backoff, and a
 * function that died (CRASH_ERRORS) twice, as every handler is safe to run
 * again. Lambda's service exceptions (which LambdaInvoke's default retrier
 * would take first, before any of these) are in TRANSIENT_ERRORS, and its
 * ClientExecutionTimeoutException in CRASH_ERRORS: {@link lambdaTask} turns
 * that default off, so these are a task's whole Retry list.
 */
export const RETRY_POLICY: readonly sfn.RetryProps[] = [
  { errors: [...TRANSIENT_ERRORS], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL },
  { errors: [...CRASH_ERRORS], interval: Duration.seconds(1), maxAttempts: 2, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL },
];

/**
 * A LambdaInvoke whose Retry list is {@link RETRY_POLICY} and nothing else:
 * the only way the machines build a Lambda task.
 */
export function lambdaTask(
  scope: Construct,
  name: string,
  props: Omit<tasks.LambdaInvokeProps, 'retryOnServiceExceptions'>,
): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, name, { ...props, retryOnServiceExceptions: false });
  for (const retry of RETRY_POLICY) task.addRetry({ ...retry, errors: [...(retry.errors ?? [])] });
  return task;
}
