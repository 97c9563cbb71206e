import * as z from 'zod';
import { type StartPorts, startDeployment } from '#app/start.ts';
import { parsedTask } from '#commons/powertools.ts';

const Input = z.object({ spec: z.unknown(), executionName: z.string().min(1) });

/**
 * First state: validates the spec (InvalidSpec starts nothing), records the
 * deployment and takes the app+env lock (LockHeld: recorded as FAILED).
 */
export function createValidateSpec(ports: StartPorts) {
  return parsedTask(Input, (input) => startDeployment(ports, input));
}
