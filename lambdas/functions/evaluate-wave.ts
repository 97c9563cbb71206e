import { awsDeps } from '../adapters/aws/deps.ts';
import { createEvaluateWave } from '../handlers/evaluate-wave.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createEvaluateWave(awsDeps());
