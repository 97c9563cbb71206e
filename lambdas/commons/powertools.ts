import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

export const logger = new Logger({ serviceName: 'deployctl' });
export const metrics = new Metrics({ namespace: 'Deployctl', serviceName: 'deployctl', logger });
export const tracer = new Tracer({ serviceName: 'deployctl' });

/** A handler body: typed input in, typed output out. */
export type TaskBody<I, O> = (event: I, context: Context) => Promise<O>;

/** Wraps a handler body in the house middleware, in the house order. */
export function task<I, O>(body: TaskBody<I, O>) {
  return middy(body)
    .use(logMetrics(metrics))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(captureLambdaHandler(tracer));
}
