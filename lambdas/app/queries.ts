import { BadCursor } from '#core/errors.ts';
import type { DeploymentRecord, HostResult, Page, RegionProgress, Release, WaveSummary } from '#core/records.ts';
import { type RegionView, regionViews } from '#core/regions.ts';
import type { Ports } from '#ports';

/** What the queries read: the deployment records, their waves and hosts, the audit trail and the release history. */
export type QueryPorts = Pick<Ports, 'deployments' | 'waves' | 'audit' | 'releases'>;

/** One deployment as callers see it: the record without task tokens, its waves, host counts and regions. */
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

/** One page of a listing. */
export interface ListPage<T> {
  readonly items: T[];
  /** Give it back to read the next page; absent on the last one. */
  readonly nextToken?: string;
}

/** A deployment's host results and audit trail. */
export interface DeploymentLogs {
  readonly deploymentId: string;
  readonly hosts: HostResult[];
  readonly events: Record<string, unknown>[];
}

/** The largest page a listing hands out. */
export const MAX_PAGE_SIZE = 100;

/**
 * What the API and the CLI read: one deployment (without task tokens), every
 * deployment, an app+env's release history, and a deployment's host results
 * and audit trail. Listings page with an opaque `nextToken`.
 */
export function createQueries(ports: QueryPorts) {
  /** The record, its waves and host counts. RecordNotFound when there is none. */
  async function get(deploymentId: string): Promise<DeploymentView> {
    const record = await ports.deployments.getDeployment(deploymentId);
    const waves = (await ports.waves.getWaves(deploymentId)).filter((w) => w.wave < (record.waveCount ?? Number.MAX_SAFE_INTEGER));
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
    return withToken(await ports.releases.listReleases(app, env, pageSize(options.limit), cursor).catch(refusedCursor(cursor)));
  }

  /** Every deployment, newest first. */
  async function list(options: { limit?: number; nextToken?: string } = {}): Promise<ListPage<DeploymentRecord>> {
    const cursor = decodeCursor(options.nextToken);
    const page = await ports.deployments.listDeployments(pageSize(options.limit), cursor).catch(refusedCursor(cursor));
    return withToken({ ...page, items: page.items.map(withoutTaskTokens) });
  }

  /** Each host's result and command output, and the audit trail. */
  async function logs(deploymentId: string): Promise<DeploymentLogs> {
    await ports.deployments.getDeployment(deploymentId);
    const [hosts, events] = await Promise.all([ports.waves.getHostResults(deploymentId), ports.audit.getEvents(deploymentId)]);
    return {
      deploymentId,
      hosts: hosts.map(({ pk: _pk, sk: _sk, ...host }: HostResult & { pk?: unknown; sk?: unknown }) => host),
      events: events.map(({ pk: _pk, sk: _sk, ...event }) => event),
    };
  }

  return { get, history, list, logs };
}

/** The queries, as `createQueries` answers them. */
export type Queries = ReturnType<typeof createQueries>;

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
