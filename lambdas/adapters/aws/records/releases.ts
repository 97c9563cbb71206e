import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DeploymentRecord, type DeploymentStatus, keys, type Page, type Release, releaseOf } from '#core/records.ts';
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

  /** Records the release (core/records.ts `releaseOf`): keyed by its end time, so a retried close rewrites the same item. */
  async putRelease(record: DeploymentRecord, status: DeploymentStatus, now: Date): Promise<void> {
    // The key holds app and environment; listReleases puts them back.
    const { app, environment, ...release } = releaseOf(record, status, now);
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...keys.release(app, environment, release.endedAt), ...release } }));
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
