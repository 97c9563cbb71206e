import { awsDeps } from '../adapters/aws/deps.ts';
import { createAwaitGate } from '../handlers/await-gate.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createAwaitGate(awsDeps());
