import { awsDeps } from '../adapters/aws/deps.ts';
import { createStartFanOut } from '../handlers/start-fan-out.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createStartFanOut(awsDeps());
