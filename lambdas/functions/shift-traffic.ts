import { awsDeps } from '../adapters/aws/deps.ts';
import { createShiftTraffic } from '../handlers/shift-traffic.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createShiftTraffic(awsDeps());
