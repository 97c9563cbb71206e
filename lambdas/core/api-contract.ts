import * as z from 'zod';
import { DeploymentSpec } from '#core/spec.ts';

/**
 * The HTTP API's contract: its routes, the bodies each takes (zod) and their
 * JSON Schema form for the API Gateway request models. The API handler and
 * the DeploymentsApi construct both read it, so synthesis loads no handler.
 */

/** A request to approve, reject, abort, pause or resume a deployment, as the control use case takes it. */
export const ControlRequest = z.object({
  deploymentId: z.string().min(1).max(80),
  action: z.enum(['approve', 'reject', 'abort', 'pause', 'resume']),
  /** Who asks: recorded in the audit trail. */
  by: z.string().min(1).max(256),
  comment: z.string().max(1024).optional(),
});
export type ControlRequest = z.infer<typeof ControlRequest>;

export type ControlAction = ControlRequest['action'];
/** The controls, each a POST route of its own. */
export const CONTROL_ACTIONS: readonly ControlAction[] = ControlRequest.shape.action.options;

/** What a route does with the deployment service. */
export type Operation = 'start' | 'list' | 'get' | 'logs' | 'control' | 'rollback';

/** One method on one resource of the API. */
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

/**
 * Bodies larger than this are refused (413) before they are parsed: a spec is
 * a few kilobytes, and the execution input it becomes is limited to 256 KB.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/** A resource of the API with the path parameters a request path gives it. */
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

/** The methods a resource takes, in the order of API_ROUTES (empty: no such resource). */
export function methodsOf(resource: string | undefined): ApiRoute['method'][] {
  return API_ROUTES.filter((r) => r.resource === resource).map((r) => r.method);
}

/** JSON Schema draft-04 keywords that API Gateway models take. */
const DRAFT4_KEYWORDS = new Set([
  'type',
  'title',
  'description',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'minProperties',
  'maxProperties',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
]);
/** What zod writes that a draft-04 model does without: defaults (the handler applies them) and zod's own formats. */
const DROPPED = ['default', 'format', 'examples', 'id', '$id'];

/** A draft-04 JSON Schema, as an API Gateway model takes it (`$schema` included). */
export type ModelSchema = Record<string, unknown> & { readonly $schema: string };

/**
 * The draft-04 JSON Schema of a body, for its input side (fields with
 * defaults are optional), by zod's own `z.toJSONSchema`, with what API
 * Gateway models lack left out. Refinements (cron, increasing stages...) have
 * no JSON Schema form and stay with the handler.
 * @throws Error when the schema needs a keyword API Gateway models lack.
 */
export function modelSchema(schema: z.ZodType): ModelSchema {
  return z.toJSONSchema(schema, {
    target: 'draft-4',
    io: 'input',
    reused: 'inline',
    override: ({ jsonSchema, path }) => {
      const node = jsonSchema as Record<string, unknown>;
      for (const key of DROPPED) delete node[key];
      if ('const' in node) {
        node.enum = [node.const];
        delete node.const;
      }
      const at = ['#', ...path].join('/');
      for (const key of Object.keys(node)) {
        if (!DRAFT4_KEYWORDS.has(key)) throw new Error(`the ${key} keyword at ${at} has no place in an API Gateway (draft-04) model`);
      }
    },
  }) as ModelSchema;
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
