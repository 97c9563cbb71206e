import { SfnCallbacks } from '#adapters/aws/sfn.ts';
import type { TaskCallbacks } from '#ports';
import { sfn } from './sfn.ts';

/** The `callbacks` port: task token answers to Step Functions. */
export const callbacks: TaskCallbacks = new SfnCallbacks(sfn);
