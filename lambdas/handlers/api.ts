import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createDeploymentService, type DeploymentService, type ServicePorts } from '#app/deployments.ts';
import { logger, task } from '#commons/powertools.ts';
import { API_ROUTES, type ApiRoute, ControlBody, ControlRequest, methodsOf, RollbackBody } from '#core/api-contract.ts';
import { BadCursor, ControlRefused, IdTaken, Locked, RecordNotFound, RollbackRefused, SpecRejected } from '#core/errors.ts';
import { DeploymentSpec, toFieldErrors } from '#core/spec.ts';
import { json, links, redact, startAnswer } from '#handlers/http/answers.ts';
import { proxyRouter, resourceOf, routerPath } from '#handlers/http/proxy-router.ts';
import { badRequest, caller, checkField, checkId, HttpError, header, jsonBody, pageOptions, pathId } from '#handlers/http/request.ts';

/**
 * The HTTP API over the deployment service: one handler for every route,
 * behind API Gateway (REST, IAM auth, Lambda proxy integration) and behind
 * `deployctl serve --local`, which builds the same events. The routes and
 * bodies are the contract in lambdas/core/api-contract.ts; Powertools' REST
 * router dispatches them and its error handlers map the service's errors.
 * API Gateway checks the request models first; this handler checks
 * everything again, so that the local server and any client that slips past
 * a model get the same answers.
 */

export { MAX_BODY_BYTES, resolveRoute } from '#core/api-contract.ts';

/** The API as a function of an API Gateway proxy event (and the Lambda context, when there is one). */
export type ApiHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/** What a route does with the request API Gateway sent. */
type Operation = (event: APIGatewayProxyEvent, route: ApiRoute) => Promise<APIGatewayProxyResult>;

/** The API: Powertools' REST router over the contract's routes, answering in the API's JSON shape. */
export function createApi(service: DeploymentService): ApiHandler {
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

  const { router, eventOf, resolve } = proxyRouter(logger);
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
    const allowed = methodsOf(resource).join(', ');
    if (!allowed) return refusal(new HttpError(404, 'NotFound', `no such resource: ${event.httpMethod} ${event.path}`));
    return refusal(
      new HttpError(405, 'MethodNotAllowed', `${event.httpMethod} is not allowed on ${resource}; use ${allowed}`, {}, { Allow: allowed }),
    );
  });

  // The service's refusals, each answered as the caller can act on it; anything else is a 500 that shows no detail.
  router.errorHandler(HttpError, async (error) => refusal(error));
  router.errorHandler(SpecRejected, async (error) =>
    json(400, { error: 'BadRequest', message: 'the deployment spec is invalid; nothing was started', fieldErrors: error.fieldErrors }),
  );
  router.errorHandler(BadCursor, async (error) =>
    json(400, { error: 'BadRequest', message: error.message, fieldErrors: [{ field: 'nextToken', message: error.message }] }),
  );
  router.errorHandler(RecordNotFound, async (error) => json(404, { error: 'NotFound', message: error.message }));
  router.errorHandler(Locked, async (error) => json(409, { error: 'Locked', message: error.message, holder: error.holder }));
  router.errorHandler<IdTaken | ControlRefused | RollbackRefused>([IdTaken, ControlRefused, RollbackRefused], async (error) =>
    json(409, { error: error.name, message: error.message }),
  );
  router.errorHandler(Error, async (error, reqCtx) => unexpected(error, eventOf(reqCtx)));

  return resolve;
}

/** The Lambda handler: the API over the deployments service on these ports, in the house middleware (logger, metrics, tracer). */
export function createApiHandler(ports: ServicePorts) {
  const api = createApi(createDeploymentService(ports));
  // API Gateway's proxy event: the routes read it field by field and check what they take.
  return task(async (event: unknown) => api(event as APIGatewayProxyEvent));
}

/** A request the caller can fix, answered as is and never logged as a fault. */
function refusal(error: HttpError): APIGatewayProxyResult {
  return json(error.status, { error: error.code, message: error.message, ...error.extra }, error.headers);
}

/** An error the API does not expect: logged with the request, answered 500 with no detail but the request id. */
function unexpected(error: Error, event: APIGatewayProxyEvent): APIGatewayProxyResult {
  // StartExecution with a name in use and another input (a retry that changed the request).
  if (error.name === 'ExecutionAlreadyExists') {
    return json(409, {
      error: 'IdTaken',
      message: 'the deployment id is in use by an execution with another input; give a new deployment id',
    });
  }
  const requestId = event.requestContext?.requestId;
  logger.error('request failed', { error, method: event.httpMethod, path: event.path, requestId });
  return json(500, {
    error: 'InternalError',
    message: `the request failed; the logs have the details${requestId ? ` (request ${requestId})` : ''}`,
  });
}
