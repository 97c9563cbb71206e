import * as z from 'zod';
import { type SendWavePorts, sendWave } from '#app/send-wave.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

const Input = z.object({
  state: DeploymentState,
  taskToken: z.string().min(1),
  phase: z.enum(['deploy', 'rollback', 'validate']),
});

/**
 * Sends a wave's command (or the rollback command to every host already
 * commanded) in SendCommand calls of at most 50 hosts, and stores the task
 * token by command id for the status callback. The execution then waits.
 */
export function createSendCommand(ports: SendWavePorts) {
  return parsedTask(Input, (input) => sendWave(ports, input));
}
