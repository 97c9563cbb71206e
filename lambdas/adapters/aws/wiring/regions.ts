import { DynamoRegions } from '#adapters/aws/records/regions.ts';
import type { RegionStore } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `regions` port over the deployment table. */
export const regions: RegionStore = new DynamoRegions(db, tableName);
