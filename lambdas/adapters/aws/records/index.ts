import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RecordStores } from '#ports';
import { DynamoAudit } from './audit.ts';
import { DynamoDeployments } from './deployments.ts';
import { DynamoLocks } from './locks.ts';
import { DynamoRegions } from './regions.ts';
import { DynamoReleases } from './releases.ts';
import { DynamoWaves } from './waves.ts';

export { DynamoAudit, DynamoDeployments, DynamoLocks, DynamoRegions, DynamoReleases, DynamoWaves };

/**
 * Every record store over one DynamoDB table (the key layout is in
 * lambdas/core/records.ts): the same code serves Lambda and local mode
 * (DynamoDB Local). A function that needs only some stores builds only those.
 */
export function dynamoRecords(db: DynamoDBDocumentClient, table: string): RecordStores {
  return {
    deployments: new DynamoDeployments(db, table),
    locks: new DynamoLocks(db, table),
    waves: new DynamoWaves(db, table),
    audit: new DynamoAudit(db, table),
    releases: new DynamoReleases(db, table),
    regions: new DynamoRegions(db, table),
  };
}
