import { isHttpMethod, Router } from '@aws-lambda-powertools/event-handler/http';
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { z } from 'zod';
import { logger, task } from '#commons/powertools.ts';
import {
  API_ROUTES,
  type ApiRoute,
  ControlBody,
  ControlRequest,
  DeploymentId,
  MAX_BODY_BYTES,
  methodsOf,
  RollbackBody,
  resolveRoute,
} from '#core/api-contract.ts';
import { BadCursor, ControlRefused, IdTaken, Locked, RecordNotFound, RollbackRefused, SpecRejected } from '#core/errors.ts';
import type { DeploymentRecord } from '#core/records.ts';
import { DeploymentSpec, type FieldError, toFieldErrors } from '#core/spec.ts';
import { type DeploymentService, MAX_PAGE_SIZE, type StartResult } from '../service/deployments.ts';

/**
 * The HTTP API over the deployment service: one handler for every route,
 * behind API Gateway (REST, IAM auth, Lambda proxy integration) and behind
 * `deployctl serve --local`, which builds the same events. The routes and
 * bodies are the contract in lambdas/core/api-contract.ts; Powertools' REST
 * router dispatches them and maps errors. API Gateway checks the request
 * models first; this handler checks everything again, so that the local
 * server and any client that slips past a model get the same answers.
 */

/** Kept for callers that still import them from here (cli/serve.ts); they live in the contract. */
export { MAX_BODY_BYTES, resolveRoute };

export interface ApiOptions {
  /**
   * Runs once the handler has found a POST /deployments spec valid, before the
   * service starts it. Local mode makes the local fleet ready here.
   */
  readonly beforeStart?: (spec: DeploymentSpec) => Promise<void>;
}

/** The API as a function of an API Gateway proxy event (and the Lambda context, when there is one). */
export type ApiHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/** The request is wrong in a way the caller can fix: answered as is, never logged as a fault. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const badRequest = (message: string, fieldErrors: readonly FieldError[]) => new HttpError(400, 'BadRequest', message, { fieldErrors });

/** What a route does with the request API Gateway sent (the event itself, not the router's view of it). */
type Operation = (event: APIGatewayProxyEvent, route: ApiRoute) => Promise<APIGatewayProxyResult>;

/** The API: Powertools' REST router over the contract's routes, answering in the API's JSON shape. */
export function createApi(service: DeploymentService, options: ApiOptions = {}): ApiHandler {
  const operations: Record<ApiRoute['operation'], Operation> = {
    async start(event) {
      const body = jsonBody(event, { required: true });
      const idempotencyKey = header(event, 'Idempotency-Key');
      if (idempotencyKey !== undefined) {
        checkId(idempotencyKey, 'Idempotency-Key');
        if (typeof body.deploymentId === 'string' && body.deploymentId !== idempotencyKey) {
          throw badRequest('the Idempotency-Key header and the spec name different deployment ids', [
            { field: 'Idempotency-Key', message: `differs from the spec's deploymentId (${body.deploymentId}); give one or the other` },
          ]);
        }
      }
      const parsed = DeploymentSpec.safeParse(body);
      if (!parsed.success) throw new SpecRejected(toFieldErrors(parsed.error), { cause: parsed.error });
      await options.beforeStart?.(parsed.data);
      const result = await service.start(body, { requestedBy: caller(event), ...(idempotencyKey ? { idempotencyKey } : {}) });
      return startAnswer(event, result, {});
    },

    async list(event) {
      const query = event.queryStringParameters ?? {};
      const page = pageOptions(query);
      const { app, env } = query;
      if (app === undefined && env === undefined) {
        const listed = await service.list(page);
        return json(200, { items: listed.items.map(redact), ...(listed.nextToken ? { nextToken: listed.nextToken } : {}) });
      }
      if (app === undefined || env === undefined) {
        const missing = app === undefined ? 'app' : 'env';
        throw badRequest(
          `the query parameter ${missing} is missing: give both app and env for a history, or neither to list every deployment`,
          [{ field: missing, message: 'required with the other of app and env' }],
        );
      }
      const fieldErrors = [
        ...checkField(DeploymentSpec.shape.app, app, 'app'),
        ...checkField(DeploymentSpec.shape.environment, env, 'env'),
      ];
      if (fieldErrors.length > 0) throw badRequest('the query parameters are invalid', fieldErrors);
      return json(200, await service.history(app, env, page));
    },

    async get(event) {
      const id = pathId(event);
      const view = await service.get(id);
      return json(200, { ...view, record: redact(view.record), links: links(event, id) });
    },

    async logs(event) {
      return json(200, await service.logs(pathId(event)));
    },

    async control(event, route) {
      const id = pathId(event);
      const body = ControlBody.safeParse(jsonBody(event, { required: false }));
      if (!body.success) throw badRequest('the request body is invalid', toFieldErrors(body.error));
      const request = ControlRequest.safeParse({ deploymentId: id, action: route.action, by: caller(event), ...body.data });
      if (!request.success) throw badRequest('the control request is invalid', toFieldErrors(request.error));
      return json(200, await service.control(request.data));
    },

    async rollback(event) {
      const id = pathId(event);
      const idempotencyKey = header(event, 'Idempotency-Key');
      if (idempotencyKey !== undefined) checkId(idempotencyKey, 'Idempotency-Key');
      const body = RollbackBody.safeParse(jsonBody(event, { required: false }));
      if (!body.success) throw badRequest('the request body is invalid', toFieldErrors(body.error));
      const result = await service.rollback(id, caller(event), {
        emergency: body.data.emergency,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      return startAnswer(event, result, { rollbackOf: id });
    },
  };

  /** The event API Gateway sent, behind the router's view of it (see routingView). */
  const sent = new WeakMap<object, APIGatewayProxyEvent>();
  const eventOf = (reqCtx: RequestContext): APIGatewayProxyEvent => sent.get(reqCtx.event) ?? (reqCtx.event as APIGatewayProxyEvent);

  const router = new Router({ logger });
  for (const route of API_ROUTES) {
    router.route(async (reqCtx) => operations[route.operation](eventOf(reqCtx), route), {
      method: route.method,
      path: routerPath(route.resource),
    });
  }
  // No route for this method on this resource: 405 naming the methods it takes, or 404 when there is no such resource.
  router.notFound(async (_error, reqCtx) => {
    const event = eventOf(reqCtx);
    const resource = resourceOf(event);
    const allowed = methodsOf(resource);
    if (allowed.length === 0)
      return errorAnswer(new HttpError(404, 'NotFound', `no such resource: ${event.httpMethod} ${event.path}`), event);
    const allow = allowed.join(', ');
    return errorAnswer(
      new HttpError(405, 'MethodNotAllowed', `${event.httpMethod} is not allowed on ${resource}; use ${allow}`, {}, { Allow: allow }),
      event,
    );
  });
  router.errorHandler(Error, async (error, reqCtx) => errorAnswer(error, eventOf(reqCtx)));

  return async function api(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
    const view = routingView(event);
    sent.set(view, event);
    const { statusCode, headers = {}, multiValueHeaders = {}, body } = await router.resolve(view, context ?? NO_CONTEXT);
    return { statusCode, headers: singleHeaders(headers, multiValueHeaders), body };
  };
}

/** The Lambda handler: the API in the house middleware (logger, metrics, tracer). */
export function createApiHandler(service: DeploymentService, options: ApiOptions = {}) {
  return task(createApi(service, options));
}

/** A local call (serve --local, tests) has no Lambda context; the router only passes it along. */
const NO_CONTEXT = {} as Context;

/** The resource API Gateway matched, or the one the path falls on when the event does not say (a hand-built event). */
function resourceOf(event: APIGatewayProxyEvent): string | undefined {
  return event.resource ?? resolveRoute(event.path)?.resource;
}

/** The router's path for a contract resource: `{id}` becomes `:id`. */
function routerPath(resource: string): `/${string}` {
  return resource.replace(/\{(\w+)\}/g, ':$1') as `/${string}`;
}

/**
 * What the router routes on: the resource API Gateway already matched (its
 * parameters as placeholders, read from the event's pathParameters as before)
 * and the method, with no headers or body. The router builds a web Request
 * from its event, which refuses a GET with a body and header values that are
 * not Latin-1 text; those must reach the handler, which answers them itself.
 * A method the API takes nowhere, or a resource it lacks, routes nowhere and
 * is answered 404 or 405 from the event sent.
 */
function routingView(event: APIGatewayProxyEvent): APIGatewayProxyEvent {
  const resource = resourceOf(event);
  const known = methodsOf(resource).length > 0 && resource !== undefined;
  const method = event.httpMethod?.toUpperCase() ?? '';
  return {
    ...event,
    resource: resource ?? '/',
    path: known ? resource.replace(/\{\w+\}/g, '_') : '/',
    httpMethod: known && isHttpMethod(method) && method === event.httpMethod ? method : 'OPTIONS',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
  };
}

type ProxyHeaders = NonNullable<APIGatewayProxyResult['headers']>;
type ProxyMultiValueHeaders = NonNullable<APIGatewayProxyResult['multiValueHeaders']>;

/**
 * The answer's headers as the API has always written them: one value each
 * (`Allow: POST, GET`, which the router splits into a list) and capitalised
 * names (`Content-Type`, `Location`; the router writes them in lower case).
 */
function singleHeaders(headers: ProxyHeaders, multiValueHeaders: ProxyMultiValueHeaders): ProxyHeaders {
  const joined = Object.entries(multiValueHeaders).map(([name, values]) => [name, values.join(', ')] as const);
  return Object.fromEntries(
    [...Object.entries(headers), ...joined].map(([name, value]) => [
      name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
      value,
    ]),
  );
}

function startAnswer(event: APIGatewayProxyEvent, result: StartResult, extra: Record<string, unknown>): APIGatewayProxyResult {
  const self = links(event, result.deploymentId);
  const body = {
    deploymentId: result.deploymentId,
    ...extra,
    strategy: result.strategy,
    status: result.started ? 'PENDING' : result.status,
    started: result.started,
    links: self,
  };
  // A repeat of a request already started answers 200 with what was started then.
  return json(result.started ? 202 : 200, body, { Location: self.self });
}

function errorAnswer(error: unknown, event: APIGatewayProxyEvent): APIGatewayProxyResult {
  if (error instanceof HttpError) return json(error.status, { error: error.code, message: error.message, ...error.extra }, error.headers);
  if (error instanceof SpecRejected) {
    return json(400, {
      error: 'BadRequest',
      message: 'the deployment spec is invalid; nothing was started',
      fieldErrors: error.fieldErrors,
    });
  }
  if (error instanceof BadCursor)
    return json(400, { error: 'BadRequest', message: error.message, fieldErrors: [{ field: 'nextToken', message: error.message }] });
  if (error instanceof RecordNotFound) return json(404, { error: 'NotFound', message: error.message });
  if (error instanceof Locked) return json(409, { error: 'Locked', message: error.message, holder: error.holder });
  if (error instanceof IdTaken || error instanceof ControlRefused || error instanceof RollbackRefused) {
    return json(409, { error: error.name, message: error.message });
  }
  // StartExecution with a name in use and another input (a retry that changed the request).
  if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
    return json(409, {
      error: 'IdTaken',
      message: 'the deployment id is in use by an execution with another input; give a new deployment id',
    });
  }
  const requestId = event.requestContext?.requestId;
  logger.error('request failed', { error: error as Error, method: event.httpMethod, path: event.path, requestId });
  return json(500, {
    error: 'InternalError',
    message: `the request failed; the logs have the details${requestId ? ` (request ${requestId})` : ''}`,
  });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The body as a JSON object; an absent body is `{}` unless required. */
function jsonBody(event: APIGatewayProxyEvent, options: { required: boolean }): Record<string, unknown> {
  const bytes =
    event.body === null || event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new HttpError(413, 'PayloadTooLarge', `the request body exceeds ${MAX_BODY_BYTES} bytes`, {
      fieldErrors: [{ field: '(body)', message: `larger than ${MAX_BODY_BYTES} bytes` }],
    });
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') {
    if (!options.required) return {};
    throw badRequest('the request body is empty: send the deployment spec as a JSON object', [{ field: '(body)', message: 'required' }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'unreadable';
    throw badRequest('the request body is not valid JSON', [{ field: '(body)', message: `not valid JSON: ${reason}` }]);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('the request body must be a JSON object', [{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const proto = protoKey(value);
  if (proto !== undefined) {
    throw badRequest('the request body names __proto__', [{ field: proto, message: 'a key named __proto__ is refused' }]);
  }
  return value as Record<string, unknown>;
}

/**
 * Where a parsed body has a `__proto__` key, if anywhere. JSON.parse keeps it
 * as an own key, but an object spread or a record parse would turn it into a
 * prototype or drop it without a word: refused wherever it is.
 */
function protoKey(body: object): string | undefined {
  // Iterative, with parent links: a body of 64 KiB can nest tens of thousands of levels.
  type Visit = { readonly node: unknown; readonly key?: string; readonly up?: Visit };
  const stack: Visit[] = [{ node: body }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const { node } = visit;
    if (!node || typeof node !== 'object') continue;
    for (const key of Object.keys(node)) {
      if (key === '__proto__') {
        const path = [key];
        for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.up) path.unshift(at.key);
        return path.join('.');
      }
      stack.push({ node: (node as Record<string, unknown>)[key], key, up: visit });
    }
  }
  return undefined;
}

/** A request header, whatever its case. */
function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

/** Who calls: the IAM identity API Gateway authenticated (SigV4), or the local server's user. */
function caller(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn || identity?.caller || 'unknown caller';
}

function pathId(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.id;
  if (id === undefined) throw new HttpError(404, 'NotFound', `no such resource: ${event.httpMethod} ${event.path}`);
  checkId(id, 'id');
  return id;
}

function checkId(value: string, field: string): void {
  const errors = checkField(DeploymentId, value, field);
  if (errors.length > 0) throw badRequest(`${field} is not a valid deployment id`, errors);
}

function checkField(schema: z.ZodType, value: unknown, field: string): FieldError[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ field, message: issue.message }));
}

const Limit = z.coerce.number().int('must be a whole number').min(1).max(MAX_PAGE_SIZE);

function pageOptions(query: Record<string, string | undefined>): { limit?: number; nextToken?: string } {
  const out: { limit?: number; nextToken?: string } = {};
  if (query.limit !== undefined) {
    const limit = Limit.safeParse(query.limit.trim() === '' ? Number.NaN : query.limit);
    if (!limit.success)
      throw badRequest('the query parameter limit is invalid', [
        { field: 'limit', message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` },
      ]);
    out.limit = limit.data;
  }
  if (query.nextToken !== undefined) out.nextToken = query.nextToken;
  return out;
}

/** The path prefix in front of the API's own paths: the stage (`/prod`) behind API Gateway, nothing locally. */
function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  if (full && event.path && full.endsWith(event.path)) return full.slice(0, full.length - event.path.length);
  return '';
}

function links(event: APIGatewayProxyEvent, id: string) {
  const self = `${basePath(event)}/deployments/${encodeURIComponent(id)}`;
  return {
    self,
    logs: `${self}/logs`,
    approve: `${self}/approve`,
    reject: `${self}/reject`,
    abort: `${self}/abort`,
    pause: `${self}/pause`,
    resume: `${self}/resume`,
    rollback: `${self}/rollback`,
  };
}

/** A record as callers see it: no table keys, and never the task token that would let them answer a gate themselves. */
function redact(record: DeploymentRecord): Record<string, unknown> {
  const { pk: _pk, sk: _sk, kind: _kind, gate, ...rest } = record as DeploymentRecord & { pk?: unknown; sk?: unknown; kind?: unknown };
  return { ...rest, ...(gate ? { gate: { kind: gate.kind, wave: gate.wave, since: gate.since } } : gate === null ? { gate: null } : {}) };
}
