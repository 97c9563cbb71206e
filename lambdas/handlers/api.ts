import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { BadCursor, ControlRefused, IdTaken, Locked, RecordNotFound, RollbackRefused, SpecRejected } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import type { DeploymentRecord } from '../core/records.ts';
import { DeploymentSpec, type FieldError, toFieldErrors } from '../core/spec.ts';
import { type DeploymentService, MAX_PAGE_SIZE, type StartResult } from '../service/deployments.ts';
import { ControlRequest } from './control-deployment.ts';

/**
 * The HTTP API over the deployment service: one handler for every route,
 * behind API Gateway (REST, IAM auth, Lambda proxy integration) and behind
 * `deployctl serve --local`, which builds the same events. API Gateway checks
 * the request models first; this handler checks everything again, so that the
 * local server and any client that slips past a model get the same answers.
 */

export type ControlAction = ControlRequest['action'];
export const CONTROL_ACTIONS: readonly ControlAction[] = ControlRequest.shape.action.options;

export type Operation = 'start' | 'list' | 'get' | 'logs' | 'control' | 'rollback';

export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  /** The API Gateway resource path, `{id}` for the deployment id. */
  readonly resource: string;
  readonly operation: Operation;
  /** The control a `control` route applies. */
  readonly action?: ControlAction;
}

/** Every route the handler serves; the DeploymentsApi construct creates exactly these methods. */
export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'POST', resource: '/deployments', operation: 'start' },
  { method: 'GET', resource: '/deployments', operation: 'list' },
  { method: 'GET', resource: '/deployments/{id}', operation: 'get' },
  { method: 'GET', resource: '/deployments/{id}/logs', operation: 'logs' },
  ...CONTROL_ACTIONS.map((action) => ({
    method: 'POST' as const,
    resource: `/deployments/{id}/${action}`,
    operation: 'control' as const,
    action,
  })),
  { method: 'POST', resource: '/deployments/{id}/rollback', operation: 'rollback' },
];

/** A deployment id in a path or an Idempotency-Key header: the spec's own rule (it is also the execution name). */
export const DeploymentId = DeploymentSpec.shape.deploymentId.unwrap();

/** The body of approve, reject, abort, pause and resume (optional: an empty body is `{}`). */
export const ControlBody = z.object({ comment: ControlRequest.shape.comment }).strict();
/** POST /deployments/{id}/rollback: `emergency` takes every host at once, with no approval, bake, alarm gate or window. */
export const RollbackBody = z.object({ emergency: z.boolean().default(false) }).strict();

export interface ResolvedRoute {
  /** The matched resource path, as API Gateway reports it in `event.resource`. */
  readonly resource: string;
  readonly pathParameters: Record<string, string> | null;
}

/** The resource a request path falls on, with its path parameters, as API Gateway resolves it (undefined: no such resource). */
export function resolveRoute(path: string): ResolvedRoute | undefined {
  const segments = trimSlashes(path).split('/');
  for (const resource of new Set(API_ROUTES.map((r) => r.resource))) {
    const template = trimSlashes(resource).split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const segment = segments[i] ?? '';
      const param = /^\{(\w+)\}$/.exec(part)?.[1];
      if (!param) return part === segment;
      if (segment === '') return false;
      params[param] = safeDecode(segment);
      return true;
    });
    if (matches) return { resource, pathParameters: Object.keys(params).length > 0 ? params : null };
  }
  return undefined;
}

export interface ApiOptions {
  /**
   * Runs once the handler has found a POST /deployments spec valid, before the
   * service starts it. Local mode makes the local fleet ready here.
   */
  readonly beforeStart?: (spec: DeploymentSpec) => Promise<void>;
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

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

/**
 * Bodies larger than this are refused (413) before they are parsed: a spec is
 * a few kilobytes, and the execution input it becomes is limited to 256 KB.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/** The API: routes an API Gateway proxy event to the service and maps its answers and errors to HTTP. */
export function createApi(service: DeploymentService, options: ApiOptions = {}): ApiHandler {
  const routes: Record<Operation, (event: APIGatewayProxyEvent, route: ApiRoute) => Promise<APIGatewayProxyResult>> = {
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

  return async function api(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    try {
      const resource = event.resource ?? resolveRoute(event.path)?.resource;
      const candidates = API_ROUTES.filter((r) => r.resource === resource);
      if (candidates.length === 0) throw new HttpError(404, 'NotFound', `no such resource: ${event.httpMethod} ${event.path}`);
      const route = candidates.find((r) => r.method === event.httpMethod);
      if (!route) {
        const allow = candidates.map((r) => r.method).join(', ');
        throw new HttpError(
          405,
          'MethodNotAllowed',
          `${event.httpMethod} is not allowed on ${resource}; use ${allow}`,
          {},
          { Allow: allow },
        );
      }
      return await routes[route.operation](event, route);
    } catch (error) {
      return errorAnswer(error, event);
    }
  };
}

/** The Lambda handler: the API in the house middleware (logger, metrics, tracer). */
export function createApiHandler(service: DeploymentService, options: ApiOptions = {}) {
  return task(createApi(service, options));
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

function trimSlashes(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
