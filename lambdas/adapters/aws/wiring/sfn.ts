import { SFNClient } from '@aws-sdk/client-sfn';
import { CLIENT_CONFIG, traced } from './client.ts';

/** The Step Functions client the callbacks and executions ports share. */
export const sfn = traced(new SFNClient(CLIENT_CONFIG));
