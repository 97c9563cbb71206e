import { awsDeps } from '../adapters/aws/deps.ts';
import { createRunPreChecks } from '../handlers/run-pre-checks.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createRunPreChecks(awsDeps());
