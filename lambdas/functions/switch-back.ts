import { awsDeps } from '../adapters/aws/deps.ts';
import { createSwitchBack } from '../handlers/shift-traffic.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createSwitchBack(awsDeps());
