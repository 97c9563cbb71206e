import { awsDeps } from '../adapters/aws/deps.ts';
import { createControlDeployment } from '../handlers/control-deployment.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createControlDeployment(awsDeps());
