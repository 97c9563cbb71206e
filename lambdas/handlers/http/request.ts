import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { MAX_PAGE_SIZE } from '#app/deployments.ts';
import { DeploymentId, MAX_BODY_BYTES } from '#core/api-contract.ts';
import type { FieldError } from '#core/spec.ts';

/**
 * Reading an API Gateway proxy event the API's way: the body as a JSON object
 * (413 past the limit, 400 for anything else), headers whatever their case,
 * the caller, the deployment id of the path and the page of a listing. Every
 * refusal is an HttpError naming the field at fault.
 */

/** The request is wrong in a way the caller can fix: answered as is, never logged as a fault. */
export class HttpError extends Error {
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

/** A 400 naming the fields at fault. */
export const badRequest = (message: string, fieldErrors: readonly FieldError[]) =>
  new HttpError(400, 'BadRequest', message, { fieldErrors });

/** The body as a JSON object; an absent body is `{}` unless required. */
export function jsonBody(event: APIGatewayProxyEvent, options: { required: boolean }): Record<string, unknown> {
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
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

/** Who calls: the IAM identity API Gateway authenticated (SigV4), or the local server's user. */
export function caller(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn || identity?.caller || 'unknown caller';
}

/** The deployment id of the path, checked. */
export function pathId(event: APIGatewayProxyEvent): string {
  const id = event.pathParameters?.id;
  if (id === undefined) throw new HttpError(404, 'NotFound', `no such resource: ${event.httpMethod} ${event.path}`);
  checkId(id, 'id');
  return id;
}

/** Refuses a value that is no deployment id, naming `field`. */
export function checkId(value: string, field: string): void {
  const errors = checkField(DeploymentId, value, field);
  if (errors.length > 0) throw badRequest(`${field} is not a valid deployment id`, errors);
}

/** The field errors of `value` under `schema`, all named `field`. */
export function checkField(schema: z.ZodType, value: unknown, field: string): FieldError[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ field, message: issue.message }));
}

const Limit = z.coerce.number().int('must be a whole number').min(1).max(MAX_PAGE_SIZE);

/** The page a listing asks for: `limit` (1 to MAX_PAGE_SIZE) and `nextToken`. */
export function pageOptions(query: Record<string, string | undefined>): { limit?: number; nextToken?: string } {
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
