import { DynamoAudit } from '#adapters/aws/records/audit.ts';
import type { AuditLog } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `audit` port over the deployment table. */
export const audit: AuditLog = new DynamoAudit(db, tableName);
