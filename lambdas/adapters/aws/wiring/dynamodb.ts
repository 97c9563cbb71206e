import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { CLIENT_CONFIG, traced } from './client.ts';
import { readEnv } from './config.ts';

/** The deployment table's name (`TABLE_NAME`). */
export const { TABLE_NAME: tableName } = readEnv(z.object({ TABLE_NAME: z.string().min(1) }));

/** The DynamoDB document client every record store of the function shares. */
export const db = DynamoDBDocumentClient.from(traced(new DynamoDBClient(CLIENT_CONFIG)), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
