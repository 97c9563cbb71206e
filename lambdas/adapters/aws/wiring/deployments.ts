import { DynamoDeployments } from '#adapters/aws/records/deployments.ts';
import type { DeploymentStore } from '#ports';
import { db, tableName } from './dynamodb.ts';

/** The `deployments` port over the deployment table. */
export const deployments: DeploymentStore = new DynamoDeployments(db, tableName);
