import { awsDeps } from '../adapters/aws/deps.ts';
import { createExecutionStatus } from '../handlers/execution-status.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createExecutionStatus(awsDeps());
