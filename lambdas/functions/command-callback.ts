import { awsDeps } from '../adapters/aws/deps.ts';
import { createCommandCallback } from '../handlers/command-callback.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createCommandCallback(awsDeps());
