import { awsDeps } from '../adapters/aws/deps.ts';
import { createCheckAlarms } from '../handlers/check-alarms.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createCheckAlarms(awsDeps());
