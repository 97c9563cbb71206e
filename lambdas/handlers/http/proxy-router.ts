import type { GenericLogger } from '@aws-lambda-powertools/commons/types';
import { isHttpMethod, Router } from '@aws-lambda-powertools/event-handler/http';
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { methodsOf, resolveRoute } from '#core/api-contract.ts';

/**
 * Powertools' REST router behind API Gateway's own routing: the router
 * dispatches on the resource API Gateway matched, and route and error
 * handlers read the event API Gateway sent (see routingView).
 */
export interface ProxyRouter {
  readonly router: Router;
  /** The event API Gateway sent, behind the router's view of it. */
  eventOf(reqCtx: RequestContext): APIGatewayProxyEvent;
  /** Routes an event and answers as the API always has (one value per header, capitalised names). */
  resolve(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult>;
}

/** A router whose handlers see the event sent; register routes as `routerPath(resource)`. */
export function proxyRouter(logger: GenericLogger): ProxyRouter {
  const sent = new WeakMap<object, APIGatewayProxyEvent>();
  const router = new Router({ logger });
  return {
    router,
    eventOf: (reqCtx) => sent.get(reqCtx.event) ?? (reqCtx.event as APIGatewayProxyEvent),
    async resolve(event, context) {
      const view = routingView(event);
      sent.set(view, event);
      const { statusCode, headers = {}, multiValueHeaders = {}, body } = await router.resolve(view, context ?? NO_CONTEXT);
      return { statusCode, headers: singleHeaders(headers, multiValueHeaders), body };
    },
  };
}

/** A local call (serve --local, tests) has no Lambda context; the router only passes it along. */
const NO_CONTEXT = {} as Context;

/** The resource API Gateway matched, or the one the path falls on when the event does not say (a hand-built event). */
export function resourceOf(event: APIGatewayProxyEvent): string | undefined {
  return event.resource ?? resolveRoute(event.path)?.resource;
}

/** The router's path for a contract resource: `{id}` becomes `:id`. */
export function routerPath(resource: string): `/${string}` {
  return resource.replace(/\{(\w+)\}/g, ':$1') as `/${string}`;
}

/**
 * What the router routes on: the resource API Gateway already matched (its
 * parameters as placeholders, read from the event's pathParameters as before)
 * and the method, with no headers or body. The router builds a web Request
 * from its event, which refuses a GET with a body and header values that are
 * not Latin-1 text; those must reach the handler, which answers them itself.
 * A method the API takes nowhere, or a resource it lacks, routes nowhere and
 * is answered 404 or 405 from the event sent. Fields a hand-built event may
 * leave out are filled in, so that the router always takes it for a REST event.
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
    pathParameters: null,
    stageVariables: null,
    requestContext: event.requestContext ?? {},
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
