import { awsDeps } from '../adapters/aws/deps.ts';
import { createFinalize } from '../handlers/finalize.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createFinalize(awsDeps());
