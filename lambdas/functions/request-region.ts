import { awsDeps } from '../adapters/aws/deps.ts';
import { createRequestRegion } from '../handlers/request-region.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createRequestRegion(awsDeps());
