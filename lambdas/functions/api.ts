import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { SfnExecutions } from '#adapters/aws/executions.ts';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { SfnCallbacks } from '#adapters/aws/sfn.ts';
import { StateMachineArns } from '#adapters/aws/wiring/config.ts';
import type { ServicePorts } from '#app/deployments.ts';
import { tracer } from '#commons/powertools.ts';
import { createApiHandler } from '#handlers/api.ts';
import { systemClock } from '#ports';

/** The API function's configuration, read once and checked: a missing or malformed variable fails at cold start. */
export const ApiConfig = z.object({
  TABLE_NAME: z.string().min(1),
  /** `{"rolling": "arn:aws:states:...", ...}`: each strategy's state machine. */
  STATE_MACHINE_ARNS: StateMachineArns,
});
export type ApiConfig = z.infer<typeof ApiConfig>;

/**
 * API Gateway gives up on an integration after 29 seconds: a few quick
 * retries with adaptive backoff, not the orchestrator's patient ones.
 */
const clientConfig = { retryMode: 'adaptive', maxAttempts: 3 } as const;

/** The API's ports over the AWS adapters, clients traced by Powertools. Call once, at module scope. */
export function apiPorts(env: NodeJS.ProcessEnv = process.env): ServicePorts {
  const config = ApiConfig.parse(env);
  const sfn = tracer.captureAWSv3Client(new SFNClient(clientConfig));
  const db = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  return {
    ...dynamoRecords(db, config.TABLE_NAME),
    executions: new SfnExecutions(sfn, config.STATE_MACHINE_ARNS),
    callbacks: new SfnCallbacks(sfn),
    clock: systemClock,
  };
}

/** Lambda entry: the API handler over the AWS adapters. */
export const handler = createApiHandler(apiPorts());
