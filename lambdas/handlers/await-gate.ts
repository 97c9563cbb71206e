import * as z from 'zod';
import { awaitGate, type GatePorts } from '#app/gate.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

const Input = z.object({ state: DeploymentState, taskToken: z.string().min(1), kind: z.enum(['approval', 'resume', 'failure']) });

/**
 * Parks the execution before a wave: stores the task token on the deployment
 * so that `approve`, `reject`, `resume` or `abort` can wake it, and announces
 * who is awaited. The execution then waits.
 */
export function createAwaitGate(ports: GatePorts) {
  return parsedTask(Input, (input) => awaitGate(ports, input));
}
