import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TokenNotFound } from '#core/errors.ts';
import { type HostResult, keys, type WaveResult, type WaveSummary } from '#core/records.ts';
import type { CommandCompletion, WaveSending, WaveStore } from '#ports';
import { TableAccess } from './table.ts';

const HOSTS_PER_CHUNK = 1000;
const COMMAND_TOKEN_TTL_SECONDS = 3 * 24 * 3600;

/** Planned waves (hosts in chunks), the commands sent per batch, their task tokens, and per-host results. */
export class DynamoWaves extends TableAccess implements WaveStore {
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
}

/** A wave is done when all its commands were sent and every one has finished. */
function waveDone(wave: Record<string, unknown> | undefined): boolean {
  if (wave?.allSent !== true) return false;
  const completed = (wave.completedCommands as Set<string> | undefined) ?? new Set<string>();
  return ((wave.commandIds as string[] | undefined) ?? []).every((c) => completed.has(c));
}
