import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LockHeld } from '#core/errors.ts';
import { keys } from '#core/records.ts';
import type { LockStore } from '#ports';
import { TableAccess } from './table.ts';

/** The app+env lock: one live deployment per app and environment (conditional writes, expiry). */
export class DynamoLocks extends TableAccess implements LockStore {
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

  /** The live holder of the app+env lock: an expired lock is free (the next deployment takes it over). */
  async getLiveLockHolder(app: string, env: string, now: Date): Promise<string | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.lock(app, env), ConsistentRead: true }));
    if (!Item || Number(Item.expiresAt) < Math.floor(now.getTime() / 1000)) return undefined;
    // A holder that has ended is about to release it (acquireLock takes it over).
    if (await this.hasEnded(String(Item.holder))) return undefined;
    return Item.holder as string;
  }
}
