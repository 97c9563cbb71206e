import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LockHeld, RecordNotFound, TokenNotFound } from '#core/errors.ts';
import {
  type CheckResult,
  type DeploymentRecord,
  type DeploymentStatus,
  type HostResult,
  keys,
  LISTING_INDEX,
  type Page,
  type RegionPhase,
  type RegionProgress,
  type Release,
  type WaveResult,
  type WaveSummary,
} from '../../core/records.ts';
import type { DeploymentSpec } from '../../core/spec.ts';

const HOSTS_PER_CHUNK = 1000;
const BATCH_WRITE_LIMIT = 25;
const COMMAND_TOKEN_TTL_SECONDS = 3 * 24 * 3600;

export interface CommandCompletion {
  readonly token: string;
  readonly deploymentId: string;
  readonly wave: number;
  /** True when this completion was the wave's last outstanding command. */
  readonly waveDone: boolean;
}

/**
 * Deployment records in the one DynamoDB table: the same code serves Lambda
 * and local mode (DynamoDB Local).
 */
/** What has been sent of a wave: one command id per batch, and a batch being sent (intent recorded, id not yet). */
export interface WaveSending {
  readonly commandIds: string[];
  readonly sentAt?: string;
  readonly sending?: { readonly batch: number; readonly at: string };
}

export class Records {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Creates the META record; a retried call with the same id is a no-op. */
  async createDeployment(id: string, spec: DeploymentSpec, executionName: string, now: Date): Promise<'created' | 'exists'> {
    const at = now.toISOString();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.meta(id),
            ...keys.listing(at),
            deploymentId: id,
            spec,
            status: 'PENDING',
            createdAt: at,
            updatedAt: at,
            executionName,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'created';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'exists';
      throw error;
    }
  }

  async getDeployment(id: string): Promise<DeploymentRecord> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.meta(id), ConsistentRead: true }));
    if (!Item) throw new RecordNotFound(`deployment ${id} has no record`);
    return Item as DeploymentRecord;
  }

  /** Sets fields of the META record (never the keys). */
  async updateDeployment(
    id: string,
    fields: Partial<Omit<DeploymentRecord, 'deploymentId' | 'spec' | 'createdAt'>> & { checks?: readonly CheckResult[] },
    now: Date,
  ): Promise<void> {
    const entries = Object.entries({ ...fields, updatedAt: now.toISOString() }).filter(([, v]) => v !== undefined);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.meta(id),
        UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  /** Sets the terminal status once: a later, different outcome does not overwrite it. */
  async finishDeployment(id: string, status: DeploymentStatus, reason: string | undefined, now: Date): Promise<DeploymentRecord> {
    const at = now.toISOString();
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.meta(id),
          UpdateExpression: 'SET #status = :status, #reason = :reason, endedAt = :at, updatedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(endedAt) OR #status = :status)',
          ExpressionAttributeNames: { '#status': 'status', '#reason': 'reason' },
          ExpressionAttributeValues: { ':status': status, ':reason': reason ?? null, ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as DeploymentRecord;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return this.getDeployment(id);
      throw error;
    }
  }

  /**
   * Takes the app+env lock for a deployment. Free, expired, or already ours:
   * taken. Held by another live deployment: LockHeld.
   */
  async acquireLock(app: string, env: string, deploymentId: string, now: Date, ttlSeconds: number): Promise<void> {
    const expiresAt = Math.floor(now.getTime() / 1000) + ttlSeconds;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...keys.lock(app, env), holder: deploymentId, acquiredAt: now.toISOString(), expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :me OR expiresAt < :now',
          ExpressionAttributeValues: { ':me': deploymentId, ':now': Math.floor(now.getTime() / 1000) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.lock(app, env), ConsistentRead: true }));
      const holder = String(Item?.holder ?? 'another deployment');
      // A holder that has ended is releasing the lock this very moment: take it over from that holder only.
      if (Item?.holder && (await this.hasEnded(String(Item.holder)))) {
        try {
          await this.db.send(
            new PutCommand({
              TableName: this.table,
              Item: { ...keys.lock(app, env), holder: deploymentId, acquiredAt: now.toISOString(), expiresAt },
              ConditionExpression: 'attribute_not_exists(pk) OR holder = :ended',
              ExpressionAttributeValues: { ':ended': Item.holder },
            }),
          );
          return;
        } catch (retry) {
          if (!(retry instanceof ConditionalCheckFailedException)) throw retry;
        }
      }
      throw new LockHeld(holder, `${app}/${env} is locked by deployment ${holder}`, { cause: error });
    }
  }

  /** Whether a deployment has reached its terminal status (its lock is about to be released). */
  private async hasEnded(id: string): Promise<boolean> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.meta(id), ConsistentRead: true }));
    return Boolean(Item?.endedAt);
  }

  /** Releases the lock if this deployment holds it; returns whether it did. */
  async releaseLock(app: string, env: string, deploymentId: string): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.lock(app, env),
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': deploymentId },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async getLockHolder(app: string, env: string): Promise<string | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.lock(app, env), ConsistentRead: true }));
    return Item?.holder as string | undefined;
  }

  /** Clears the deployment's gate if it still holds this token; false when another answer took it first. */
  async clearGate(id: string, token: string, now: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.meta(id),
          UpdateExpression: 'SET gate = :none, updatedAt = :at',
          ConditionExpression: 'gate.#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':none': null, ':token': token, ':at': now.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The live holder of the app+env lock: an expired lock is free (the next deployment takes it over). */
  async getLiveLockHolder(app: string, env: string, now: Date): Promise<string | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.lock(app, env), ConsistentRead: true }));
    if (!Item || Number(Item.expiresAt) < Math.floor(now.getTime() / 1000)) return undefined;
    // A holder that has ended is about to release it (acquireLock takes it over).
    if (await this.hasEnded(String(Item.holder))) return undefined;
    return Item.holder as string;
  }

  /** The deployment's waves in order: planned hosts, status, results (not the host lists). */
  async getWaves(id: string): Promise<WaveSummary[]> {
    const items = await this.queryAll(`DEPLOY#${id}`, 'WAVE#');
    return items
      .filter((item) => !String(item.sk).includes('#HOSTS#'))
      .map(({ pk: _pk, sk: _sk, commandIds, completedCommands, ...wave }) => ({
        ...(wave as unknown as WaveSummary),
        commands: (commandIds as string[] | undefined)?.length ?? 0,
      }));
  }

  /** Releases of app+env, newest first, one page at a time. */
  async listReleases(app: string, env: string, limit: number, cursor?: Record<string, unknown>): Promise<Page<Release>> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': keys.release(app, env, '').pk, ':sk': 'RELEASE#' },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      items: (page.Items ?? []).map(({ pk: _pk, sk: _sk, ...release }) => ({ app, environment: env, ...release }) as Release),
      cursor: page.LastEvaluatedKey,
    };
  }

  /** Every deployment, newest first (the listing index), one page at a time. */
  async listDeployments(limit: number, cursor?: Record<string, unknown>): Promise<Page<DeploymentRecord>> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: LISTING_INDEX,
        KeyConditionExpression: 'kind = :kind',
        ExpressionAttributeValues: { ':kind': keys.listing('').kind },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return { items: (page.Items ?? []) as DeploymentRecord[], cursor: page.LastEvaluatedKey };
  }

  /** Stores a wave's hosts (in chunks, so a 10,000-host wave fits) and its summary. */
  async putWave(id: string, wave: number, hosts: readonly string[]): Promise<void> {
    const chunks: (typeof hosts)[] = [];
    for (let i = 0; i < hosts.length; i += HOSTS_PER_CHUNK) chunks.push(hosts.slice(i, i + HOSTS_PER_CHUNK));
    await this.batchPut([
      { ...keys.wave(id, wave), wave, hosts: hosts.length, chunks: chunks.length, status: 'PLANNED' },
      ...chunks.map((instanceIds, chunk) => ({ ...keys.waveHosts(id, wave, chunk), wave, chunk, instanceIds })),
    ]);
  }

  async getWaveHosts(id: string, wave: number): Promise<string[]> {
    const items = await this.queryAll(`DEPLOY#${id}`, `${keys.wave(id, wave).sk}#HOSTS#`);
    return items.flatMap((item) => item.instanceIds as string[]);
  }

  /**
   * Appends one sent command to its wave as soon as SendCommand returns, so a
   * retried send resumes after the chunks already sent instead of resending them.
   */
  /**
   * Records, before a SendCommand, that batch `batch` of the wave is being
   * sent and since when: if the Lambda dies between SendCommand and
   * addWaveCommand, its retry finds this intent and looks for the command
   * SSM already has instead of sending a second one.
   */
  async markSending(id: string, wave: number, batch: number, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.wave(id, wave),
        UpdateExpression: 'SET sending = :intent',
        ExpressionAttributeValues: { ':intent': { batch, at: now.toISOString() } },
      }),
    );
  }

  /**
   * Stores the command id of batch `batch` (the list holds one id per batch, in
   * order). The write only lands if the list holds exactly the batches before
   * it, so a retry can never store a batch twice; returns false if it was stored already.
   */
  async addWaveCommand(id: string, wave: number, batch: number, commandId: string, now: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.wave(id, wave),
          UpdateExpression:
            'SET commandIds = list_append(if_not_exists(commandIds, :none), :one), #status = :running, sentAt = if_not_exists(sentAt, :at) REMOVE sending',
          ConditionExpression: batch === 0 ? 'attribute_not_exists(commandIds) OR size(commandIds) = :zero' : 'size(commandIds) = :batch',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':none': [],
            ':one': [commandId],
            ':running': 'RUNNING',
            ':at': now.toISOString(),
            ...(batch === 0 ? { ':zero': 0 } : { ':batch': batch }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Stores the waiting task's token under each of the wave's command ids, then
   * marks the wave fully sent. Completions count only once the wave is fully
   * sent; whichever of this call and the last completion comes second sees the
   * wave done, so exactly one of them wakes the execution. Returns whether every
   * command had already finished (then the caller wakes it).
   */
  async putCommandTokens(
    id: string,
    wave: number,
    commandIds: readonly string[],
    token: string,
    now: Date,
  ): Promise<{ waveDone: boolean }> {
    const ttl = Math.floor(now.getTime() / 1000) + COMMAND_TOKEN_TTL_SECONDS;
    await this.batchPut(commandIds.map((commandId) => ({ ...keys.command(commandId), token, deploymentId: id, wave, ttl })));
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.wave(id, wave),
        UpdateExpression: 'SET allSent = :yes, tokenAt = :at',
        ExpressionAttributeValues: { ':yes': true, ':at': now.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { waveDone: waveDone(Attributes) };
  }

  /**
   * Stores the waiting task's token under one command id as soon as it is
   * sent, so that a command finishing while later batches are still being sent
   * finds it (its completion then counts; the wave is done only once all are sent).
   */
  async putCommandToken(id: string, wave: number, commandId: string, token: string, now: Date): Promise<void> {
    const ttl = Math.floor(now.getTime() / 1000) + COMMAND_TOKEN_TTL_SECONDS;
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.command(commandId), token, deploymentId: id, wave, ttl } }));
  }

  /** Marks one command finished and tells whether the wave has none left. */
  async completeCommand(commandId: string): Promise<CommandCompletion> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.command(commandId), ConsistentRead: true }));
    if (!Item) throw new TokenNotFound(`no task token stored for command ${commandId} yet`);
    const deploymentId = Item.deploymentId as string;
    const wave = Item.wave as number;
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.wave(deploymentId, wave),
        UpdateExpression: 'ADD completedCommands :cid',
        ExpressionAttributeValues: { ':cid': new Set([commandId]) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { token: Item.token as string, deploymentId, wave, waveDone: waveDone(Attributes) };
  }

  async getWaveCommands(id: string, wave: number): Promise<string[]> {
    return (await this.getWaveSending(id, wave)).commandIds;
  }

  /** The commands sent for a wave and when the first was sent. */
  async getWaveSending(id: string, wave: number): Promise<WaveSending> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.wave(id, wave), ConsistentRead: true }));
    const sending = Item?.sending as { batch?: unknown; at?: unknown } | undefined;
    return {
      commandIds: (Item?.commandIds as string[] | undefined) ?? [],
      ...(Item?.sentAt ? { sentAt: Item.sentAt as string } : {}),
      ...(typeof sending?.batch === 'number' && typeof sending.at === 'string'
        ? { sending: { batch: sending.batch, at: sending.at } }
        : {}),
    };
  }

  async putWaveResult(id: string, result: WaveResult, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.wave(id, result.wave),
        UpdateExpression: 'SET #status = :done, succeeded = :s, failed = :f, endedAt = :at',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':done': 'DONE', ':s': result.succeeded, ':f': result.failed, ':at': now.toISOString() },
      }),
    );
  }

  /** Per-host results, 25 to a BatchWriteItem call. */
  async putHostResults(id: string, results: readonly HostResult[], now: Date): Promise<void> {
    const at = now.toISOString();
    await this.batchPut(
      results.map((r) => ({
        ...keys.host(id, r.instanceId),
        ...r,
        updatedAt: at,
      })),
    );
  }

  async getHostResults(id: string): Promise<HostResult[]> {
    return (await this.queryAll(`DEPLOY#${id}`, 'HOST#')) as unknown as HostResult[];
  }

  async appendEvent(id: string, type: string, actor: string, detail: Record<string, unknown>, now: Date): Promise<void> {
    const seq = Math.random().toString(36).slice(2, 8);
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.event(id, now.toISOString(), seq), type, actor, at: now.toISOString(), ...detail },
      }),
    );
  }

  /**
   * Appends an audit event at most once per `once` key (e.g. "WaveStarted#3"):
   * a guard item and the event are written in one transaction, so a task that
   * Step Functions retries writes the event again only if the first attempt
   * did not. Returns whether this call wrote it.
   */
  async appendEventOnce(
    id: string,
    once: string,
    type: string,
    actor: string,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<boolean> {
    const seq = Math.random().toString(36).slice(2, 8);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk: `DEPLOY#${id}`, sk: `ONCE#${once}`, at: now.toISOString() },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.event(id, now.toISOString(), seq), type, actor, at: now.toISOString(), ...detail },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async getEvents(id: string): Promise<Record<string, unknown>[]> {
    return this.queryAll(`DEPLOY#${id}`, 'EVENT#');
  }

  /** One line of the app+env's release history; commitTime and rollbackOf (from the spec) only when set, for the DORA metrics. */
  /**
   * Records the release at the deployment's own end time (set once by
   * finishDeployment), so that a retried close writes the same item again
   * rather than a second release.
   */
  async putRelease(record: DeploymentRecord, status: DeploymentStatus, now: Date): Promise<void> {
    const { spec } = record;
    const endedAt = record.endedAt ?? now.toISOString();
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.release(spec.app, spec.environment, endedAt),
          deploymentId: record.deploymentId,
          version: spec.version,
          previousVersion: spec.previousVersion ?? null,
          status,
          startedAt: record.createdAt,
          endedAt,
          durationSeconds: Math.round((Date.parse(endedAt) - Date.parse(record.createdAt)) / 1000),
          ...(spec.commitTime ? { commitTime: spec.commitTime } : {}),
          ...(spec.rollbackOf ? { rollbackOf: spec.rollbackOf } : {}),
        },
      }),
    );
  }

  /** The version of the latest successful release of app+env, if any. */
  async lastGoodVersion(app: string, env: string): Promise<string | undefined> {
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.listReleases(app, env, 100, cursor);
      const good = page.items.find((release) => release.status === 'SUCCEEDED');
      if (good) return good.version;
      cursor = page.cursor;
    } while (cursor);
    return undefined;
  }

  /**
   * Multi-region: sets fields of one region's entry in the control region's
   * record (`regions.<region>`, or its `rollback` for the roll-back-all
   * policy's rollback). Each region has its own path, so the regions of a
   * wave update the record side by side.
   */
  async updateRegion(
    id: string,
    region: string,
    phase: RegionPhase,
    fields: Partial<Omit<RegionProgress, 'rollback'>>,
    now: Date,
  ): Promise<void> {
    const names: Record<string, string> = {
      '#regions': 'regions',
      '#region': region,
      ...(phase === 'rollback' ? { '#rollback': 'rollback' } : {}),
    };
    const base = phase === 'rollback' ? '#regions.#region.#rollback' : '#regions.#region';
    if (phase === 'rollback') {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.meta(id),
          UpdateExpression: `SET ${base} = if_not_exists(${base}, :empty)`,
          ConditionExpression: 'attribute_exists(#regions.#region)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
    }
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.meta(id),
        UpdateExpression: `SET ${[...entries.map((_, i) => `${base}.#f${i} = :v${i}`), 'updatedAt = :at'].join(', ')}`,
        ConditionExpression: 'attribute_exists(#regions.#region)',
        ExpressionAttributeNames: { ...names, ...Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])) },
        ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])), ':at': now.toISOString() },
      }),
    );
  }

  private async queryAll(pk: string, skPrefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': pk, ':sk': skPrefix },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** BatchWriteItem in groups of 25, resending unprocessed items with backoff. */
  private async batchPut(items: readonly Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
      let requests = items.slice(i, i + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt) * Math.random());
        if (attempt > 8) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed after ${attempt} attempts`);
        const { UnprocessedItems } = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A wave is done when all its commands were sent and every one has finished. */
function waveDone(wave: Record<string, unknown> | undefined): boolean {
  if (wave?.allSent !== true) return false;
  const completed = (wave.completedCommands as Set<string> | undefined) ?? new Set<string>();
  return ((wave.commandIds as string[] | undefined) ?? []).every((c) => completed.has(c));
}
