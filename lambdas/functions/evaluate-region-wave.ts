import { awsDeps } from '../adapters/aws/deps.ts';
import { createEvaluateRegionWave } from '../handlers/evaluate-region-wave.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createEvaluateRegionWave(awsDeps());
