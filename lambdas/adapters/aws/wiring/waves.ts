import { DynamoWaves } from '#adapters/aws/records/waves.ts';
import type { WaveStore } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `waves` port over the deployment table. */
export const waves: WaveStore = new DynamoWaves(db, tableName);
