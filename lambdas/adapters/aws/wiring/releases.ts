import { DynamoReleases } from '#adapters/aws/records/releases.ts';
import type { ReleaseStore } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `releases` port over the deployment table. */
export const releases: ReleaseStore = new DynamoReleases(db, tableName);
