import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BadCursor, IdTaken, Locked, RecordNotFound, SpecRejected, UnknownStrategy } from '#core/errors.ts';
import type { DeploymentRecord, HostResult, Page, RegionProgress, Release, WaveSummary } from '../core/records.ts';
import { FAN_OUT_MACHINE, isMultiRegion, type RegionView, regionViews } from '../core/regions.ts';
import { manualRollbackSpec } from '../core/rollback.ts';
import { DeploymentSpec, type FieldError, toFieldErrors } from '../core/spec.ts';
import { type ControlRequest, type ControlResult, controlDeployment } from '../handlers/control-deployment.ts';
import type { Ports } from '../ports.ts';

/**
 * What the API, the CLI and the pipeline and schedule triggers share: start,
 * read, list and steer deployments. The same code runs over the AWS adapters
 * (API Lambda, CLI against AWS) and the local ones (`--local`, `serve --local`).
 */
export type ServiceDeps = Pick<Ports, 'deployments' | 'locks' | 'waves' | 'audit' | 'releases' | 'executions' | 'callbacks' | 'clock'>;

export interface StartResult {
  readonly deploymentId: string;
  readonly strategy: string;
  /** False when the request repeated one already started (same id, same deployment). */
  readonly started: boolean;
  readonly executionArn?: string;
  /** The record's status when the request was a repeat. */
  readonly status?: DeploymentRecord['status'];
}

export interface StartOptions {
  /** The authenticated caller, recorded as requestedBy in place of the spec's (the API passes the IAM identity). */
  readonly requestedBy?: string;
  /** The deployment id to use when the spec gives none (an Idempotency-Key header, for instance). */
  readonly idempotencyKey?: string;
}

export interface DeploymentView {
  readonly record: DeploymentRecord;
  readonly waves: WaveSummary[];
  readonly counts: {
    readonly hosts: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly rolledBack: number;
    readonly pending: number;
  };
  /** Multi-region: every region's deployment (status, host counts, timings), in wave order. */
  readonly regions?: RegionView[];
}

export interface ListPage<T> {
  readonly items: T[];
  /** Give it back to read the next page; absent on the last one. */
  readonly nextToken?: string;
}

export interface DeploymentLogs {
  readonly deploymentId: string;
  readonly hosts: HostResult[];
  readonly events: Record<string, unknown>[];
}

export const MAX_PAGE_SIZE = 100;

export function createDeploymentService(deps: ServiceDeps) {
  /** Starts a deployment; a repeat of one already started starts nothing new. */
  async function start(input: unknown, options: StartOptions = {}): Promise<StartResult> {
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new SpecRejected([{ field: '(spec)', message: 'the spec must be a JSON object' }]);
    }
    const raw = input as Record<string, unknown>;
    const deploymentId = (typeof raw.deploymentId === 'string' ? raw.deploymentId : undefined) ?? options.idempotencyKey ?? randomUUID();
    // An authenticated caller (the API's IAM identity) is who asked, whatever the body says.
    const request = { ...raw, deploymentId, ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) };
    const parsed = DeploymentSpec.safeParse(request);
    if (!parsed.success) throw new SpecRejected(toFieldErrors(parsed.error), { cause: parsed.error });
    const spec = parsed.data;
    const strategy = spec.strategy.type;

    const existing = await startChecks(deps, spec, deploymentId, deps.clock.now());
    if (existing) {
      if (!sameDeployment(existing, spec)) {
        throw new IdTaken(
          `deployment id ${deploymentId} is taken by another deployment (${existing.spec.app} ${existing.spec.version} to ${existing.spec.environment}); give a new deploymentId`,
        );
      }
      return { deploymentId, strategy, started: false, status: existing.status };
    }
    // The execution name is the deployment id: StartExecution with the same name and input answers the same execution.
    // A spec with regions runs on the control region's fan-out machine, which starts each region's strategy.
    const { executionArn } = await deps.executions
      .start(isMultiRegion(spec) ? FAN_OUT_MACHINE : strategy, deploymentId, request)
      .catch((error: unknown) => {
        // Only the control region's stack has the fan-out machine: a multi-region spec elsewhere is bad input, not a fault.
        if (error instanceof UnknownStrategy && isMultiRegion(spec)) {
          throw new SpecRejected(
            [
              {
                field: spec.regionWaves ? 'regionWaves' : 'regions',
                message: 'this stack is not the control region: start a multi-region deployment there',
              },
            ],
            { cause: error },
          );
        }
        throw error;
      });
    return { deploymentId, strategy, started: true, executionArn };
  }

  /** The record, its waves and host counts. RecordNotFound when there is none. */
  async function get(deploymentId: string): Promise<DeploymentView> {
    const record = await deps.deployments.getDeployment(deploymentId);
    const waves = (await deps.waves.getWaves(deploymentId)).filter((w) => w.wave < (record.waveCount ?? Number.MAX_SAFE_INTEGER));
    const hosts = record.hostCount ?? 0;
    const succeeded = record.succeeded ?? 0;
    const failed = record.failed ?? 0;
    const { gate, regions, ...rest } = record;
    // Multi-region: every region's status, counts and timings, in wave order (without the control execution's tokens).
    const regionList = regions ? regionViews(record) : undefined;
    return {
      // Never the task token: whoever holds it could answer the gate without the audit trail.
      record: {
        ...rest,
        ...(gate ? { gate: { kind: gate.kind, wave: gate.wave, since: gate.since } } : {}),
        ...(regionList ? { regions: Object.fromEntries(regionList.map(({ region, ...view }) => [region, view])) } : {}),
      } as DeploymentRecord,
      waves,
      counts: { hosts, succeeded, failed, rolledBack: record.rolledBack ?? 0, pending: Math.max(0, hosts - succeeded - failed) },
      ...(regionList ? { regions: regionList } : {}),
    };
  }

  /** Finished deployments of app+env, newest first. */
  async function history(app: string, env: string, options: { limit?: number; nextToken?: string } = {}): Promise<ListPage<Release>> {
    const cursor = decodeCursor(options.nextToken);
    return withToken(await deps.releases.listReleases(app, env, pageSize(options.limit), cursor).catch(refusedCursor(cursor)));
  }

  /** Every deployment, newest first. */
  async function list(options: { limit?: number; nextToken?: string } = {}): Promise<ListPage<DeploymentRecord>> {
    const cursor = decodeCursor(options.nextToken);
    const page = await deps.deployments.listDeployments(pageSize(options.limit), cursor).catch(refusedCursor(cursor));
    return withToken({ ...page, items: page.items.map(withoutTaskTokens) });
  }

  /** approve, reject, abort, pause, resume. */
  function control(request: ControlRequest): Promise<ControlResult> {
    return controlDeployment(deps, request);
  }

  /** Starts a rollback of a finished deployment to its previous version. */
  async function rollback(
    deploymentId: string,
    requestedBy: string,
    options: { idempotencyKey?: string; emergency?: boolean } = {},
  ): Promise<StartResult> {
    const spec = manualRollbackSpec(await deps.deployments.getDeployment(deploymentId), requestedBy, {
      emergency: options.emergency ?? false,
    });
    // One rollback per deployment unless the caller says otherwise: a retried request starts nothing new.
    const key = options.emergency ? `${deploymentId.slice(0, 61)}-emergency-rollback` : `${deploymentId.slice(0, 71)}-rollback`;
    return start(spec, { idempotencyKey: options.idempotencyKey ?? key });
  }

  /** Each host's result and command output, and the audit trail. */
  async function logs(deploymentId: string): Promise<DeploymentLogs> {
    await deps.deployments.getDeployment(deploymentId);
    const [hosts, events] = await Promise.all([deps.waves.getHostResults(deploymentId), deps.audit.getEvents(deploymentId)]);
    return {
      deploymentId,
      hosts: hosts.map(({ pk: _pk, sk: _sk, ...host }: HostResult & { pk?: unknown; sk?: unknown }) => host),
      events: events.map(({ pk: _pk, sk: _sk, ...event }) => event),
    };
  }

  return { start, get, history, list, control, rollback, logs };
}

export type DeploymentService = ReturnType<typeof createDeploymentService>;

/**
 * What every start checks before anything runs: the deployment that already
 * has this id (returned: the caller decides whether it is a repeat), or else
 * a live lock on the app+env held by another deployment (Locked).
 */
export async function startChecks(
  records: Pick<Ports, 'deployments' | 'locks'>,
  spec: Pick<DeploymentSpec, 'app' | 'environment'>,
  deploymentId: string,
  now: Date,
): Promise<DeploymentRecord | undefined> {
  const existing = await records.deployments.getDeployment(deploymentId).catch((error: unknown) => {
    if (error instanceof RecordNotFound) return undefined;
    throw error;
  });
  if (existing) return existing;
  const holder = await records.locks.getLiveLockHolder(spec.app, spec.environment, now);
  if (holder && holder !== deploymentId) {
    throw new Locked(holder, `${spec.app}/${spec.environment} is locked by deployment ${holder}; wait for it to end or abort it`);
  }
  return undefined;
}

/** What makes two requests the same deployment (who asked and the resolved previous version aside). */
const IDENTITY = ['app', 'environment', 'version', 'targets', 'command', 'rollbackCommand', 'strategy', 'gates', 'window'] as const;

/** A repeat of the same request: the same deployment field by field. */
function sameDeployment(existing: DeploymentRecord, spec: DeploymentSpec): boolean {
  const pick = (s: DeploymentSpec) =>
    Object.fromEntries(IDENTITY.map((k) => [k, s[k as keyof DeploymentSpec]]).filter(([, v]) => v !== undefined));
  // Deep, not by JSON text: DynamoDB hands maps back in any key order.
  return isDeepStrictEqual(pick(existing.spec), pick(spec));
}

/**
 * A record as a listing shows it: no task token (a gate's, or a region's wait),
 * which would let whoever reads it answer the wait without the audit trail.
 */
function withoutTaskTokens(record: DeploymentRecord): DeploymentRecord {
  const { gate, regions, ...rest } = record;
  const region = ({ token: _token, rollback, ...progress }: RegionProgress) => {
    const { token: _rollbackToken, ...undo } = rollback ?? {};
    return { ...progress, ...(rollback ? { rollback: undo } : {}) };
  };
  return {
    ...rest,
    ...(gate ? { gate: { kind: gate.kind, wave: gate.wave, since: gate.since } } : gate === null ? { gate: null } : {}),
    ...(regions ? { regions: Object.fromEntries(Object.entries(regions).map(([name, progress]) => [name, region(progress)])) } : {}),
  } as DeploymentRecord;
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return 20;
  return Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(limit)));
}

function withToken<T>(page: Page<T>): ListPage<T> {
  return { items: page.items, ...(page.cursor ? { nextToken: Buffer.from(JSON.stringify(page.cursor)).toString('base64url') } : {}) };
}

/** DynamoDB refuses a start key that is not one of the query's own (a token of another listing, or a forged one). */
function refusedCursor(cursor: Record<string, unknown> | undefined) {
  return (error: unknown): never => {
    if (cursor && error instanceof Error && error.name === 'ValidationException') {
      throw new BadCursor('nextToken is not one this listing handed out; start again without it', { cause: error });
    }
    throw error;
  };
}

function decodeCursor(token: string | undefined): Record<string, unknown> | undefined {
  if (token === undefined) return undefined;
  try {
    const cursor: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (cursor && typeof cursor === 'object' && !Array.isArray(cursor)) return cursor as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw new BadCursor('nextToken is not one this API handed out; start again without it');
}
