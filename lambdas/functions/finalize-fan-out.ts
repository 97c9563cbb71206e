import { awsDeps } from '../adapters/aws/deps.ts';
import { createFinalizeFanOut } from '../handlers/finalize-fan-out.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createFinalizeFanOut(awsDeps());
