import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DeploymentRecord, type DeploymentStatus, keys, type Page, type Release } from '#core/records.ts';
import type { ReleaseStore } from '#ports';
import { TableAccess } from './table.ts';

/** The release history of each app+env, newest first. */
export class DynamoReleases extends TableAccess implements ReleaseStore {
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
}
