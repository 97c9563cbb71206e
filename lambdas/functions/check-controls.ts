import { awsDeps } from '../adapters/aws/deps.ts';
import { createCheckControls } from '../handlers/check-controls.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createCheckControls(awsDeps());
