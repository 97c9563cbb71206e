import { awsDeps } from '../adapters/aws/deps.ts';
import { createSendCommand } from '../handlers/send-command.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createSendCommand(awsDeps());
