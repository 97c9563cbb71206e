import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { StartResult } from '#app/deployments.ts';
import type { DeploymentRecord } from '#core/records.ts';

/**
 * The API's answers: JSON with no caching, the links of a deployment under
 * the stage's base path, and records as callers may see them.
 */

/** The answer to a start or a rollback: 202 when it started, 200 for a repeat of one started before. */
export function startAnswer(event: APIGatewayProxyEvent, result: StartResult, extra: Record<string, unknown>): APIGatewayProxyResult {
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

/** A JSON answer that no cache keeps. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The path prefix in front of the API's own paths: the stage (`/prod`) behind API Gateway, nothing locally. */
function basePath(event: APIGatewayProxyEvent): string {
  const full = event.requestContext?.path;
  if (full && event.path && full.endsWith(event.path)) return full.slice(0, full.length - event.path.length);
  return '';
}

/** The links of a deployment, under the stage's base path. */
export function links(event: APIGatewayProxyEvent, id: string) {
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
export function redact(record: DeploymentRecord): Record<string, unknown> {
  const { pk: _pk, sk: _sk, kind: _kind, gate, ...rest } = record as DeploymentRecord & { pk?: unknown; sk?: unknown; kind?: unknown };
  return { ...rest, ...(gate ? { gate: { kind: gate.kind, wave: gate.wave, since: gate.since } } : gate === null ? { gate: null } : {}) };
}
