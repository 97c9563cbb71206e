import * as z from 'zod';
import { SfnExecutions } from '#adapters/aws/executions.ts';
import type { Executions } from '#ports';
import { readEnv, StateMachineArns } from './config.ts';
import { sfn } from './sfn.ts';

const { STATE_MACHINE_ARNS } = readEnv(z.object({ STATE_MACHINE_ARNS: StateMachineArns }));

/** The `executions` port: StartExecution on each strategy's machine (`STATE_MACHINE_ARNS`). */
export const executions: Executions = new SfnExecutions(sfn, STATE_MACHINE_ARNS);
