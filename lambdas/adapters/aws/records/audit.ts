import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '#core/records.ts';
import type { AuditLog } from '#ports';
import { TableAccess } from './table.ts';

/** The audit trail: one event per transition, and events written once per key however often a task is retried. */
export class DynamoAudit extends TableAccess implements AuditLog {
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
}
