import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchAlarms } from '#adapters/aws/cloudwatch.ts';
import type { Alarms } from '#ports';
import { CLIENT_CONFIG, traced } from './client.ts';

/** The `alarms` port: CloudWatch alarm states. */
export const alarms: Alarms = new CloudWatchAlarms(traced(new CloudWatchClient(CLIENT_CONFIG)));
