import { awsDeps } from '../adapters/aws/deps.ts';
import { createValidateSpec } from '../handlers/validate-spec.ts';

/** Lambda entry: the handler over the AWS adapters. */
export const handler = createValidateSpec(awsDeps());
