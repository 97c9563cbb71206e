import { awsDeps } from '../adapters/aws/deps.ts';
import { createPlanWaves } from '../handlers/plan-waves.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createPlanWaves(awsDeps());
