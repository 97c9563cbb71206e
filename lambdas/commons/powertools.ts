import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';

/** Keys whose values no log line may show: a task token lets whoever holds it answer the execution's wait. */
const SECRET_KEY = /^(task)?token$/i;

/**
 * Masks every task token a log line would carry, wherever it is (an event
 * logged whole with POWERTOOLS_LOGGER_LOG_EVENT, a record, an error's detail).
 */
export function redactSecrets(key: string, value: unknown): unknown {
  return SECRET_KEY.test(key) && typeof value === 'string' ? '[redacted]' : value;
}

export const logger = new Logger({ serviceName: 'deployctl', jsonReplacerFn: redactSecrets });
export const metrics = new Metrics({ namespace: 'Deployctl', serviceName: 'deployctl', logger });
export const tracer = new Tracer({ serviceName: 'deployctl' });

/** A handler body: typed input in, typed output out. */
export type TaskBody<I, O> = (event: I, context: Context) => Promise<O>;

/**
 * The deployment a task works on, on every log line: the state machine's
 * state carries deploymentId, app, environment and wave at the top level, or
 * under `state`.
 * The deployment id is also the correlation id across functions.
 */
export function deploymentKeys(event: unknown): Record<string, unknown> {
  if (!event || typeof event !== 'object') return {};
  const top = event as Record<string, unknown>;
  const state = (top.state && typeof top.state === 'object' ? top.state : top) as Record<string, unknown>;
  const keys: Record<string, unknown> = {};
  if (typeof state.deploymentId === 'string') {
    keys.deploymentId = state.deploymentId;
    keys.correlation_id = state.deploymentId;
  }
  if (typeof state.app === 'string') keys.app = state.app;
  if (typeof state.environment === 'string') keys.environment = state.environment;
  if (typeof state.wave === 'number') keys.wave = state.wave;
  if (typeof top.phase === 'string') keys.phase = top.phase;
  return keys;
}

/** Wraps a handler body in the house middleware, in the house order. */
export function task<I, O>(body: TaskBody<I, O>) {
  return middy(body)
    .use(logMetrics(metrics))
    .use(injectLambdaContext(logger, { clearState: true }))
    .use(captureLambdaHandler(tracer))
    .before((request) => {
      logger.appendKeys(deploymentKeys(request.event));
    });
}

/**
 * A handler whose input is checked by a zod schema: the house middleware,
 * then (last) a parser that replaces the event by the parsed value or throws
 * the ZodError, so the body gets typed input. Invoked with any event.
 */
export function parsedTask<S extends z.ZodType, O>(schema: S, body: TaskBody<z.output<S>, O>) {
  return task<unknown, O>((event, context) => body(event as z.output<S>, context)).before((request) => {
    request.event = schema.parse(request.event);
  });
}
