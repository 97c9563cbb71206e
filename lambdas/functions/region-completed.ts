import { awsDeps } from '../adapters/aws/deps.ts';
import { createRegionCompleted } from '../handlers/region-completed.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createRegionCompleted(awsDeps());
