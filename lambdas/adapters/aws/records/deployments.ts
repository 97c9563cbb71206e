import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RecordNotFound } from '#core/errors.ts';
import { type CheckResult, type DeploymentRecord, type DeploymentStatus, keys, LISTING_INDEX, type Page } from '#core/records.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import type { DeploymentStore } from '#ports';
import { TableAccess } from './table.ts';

/** The META record of each deployment: create, read, update, finish, list, and the gate it waits at. */
export class DynamoDeployments extends TableAccess implements DeploymentStore {
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
}
