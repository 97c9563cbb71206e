import { DynamoLocks } from '#adapters/aws/records/locks.ts';
import type { LockStore } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `locks` port over the deployment table. */
export const locks: LockStore = new DynamoLocks(db, tableName);
