import { SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_CONFIG, traced } from './client.ts';

/** The SSM client the fleet and inventory ports share. */
export const ssm = traced(new SSMClient(CLIENT_CONFIG));
