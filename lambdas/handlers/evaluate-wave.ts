import * as z from 'zod';
import { type EvaluateWavePorts, evaluateWave } from '#app/evaluate-wave.ts';
import { parsedTask } from '#commons/powertools.ts';
import { DeploymentState } from '#core/state.ts';

const Input = z.object({ state: DeploymentState, phase: z.enum(['deploy', 'rollback', 'validate']) });

/**
 * Reads every host's result (also the reconciliation when a status event was
 * lost), records them, and checks the error budget.
 */
export function createEvaluateWave(ports: EvaluateWavePorts) {
  return parsedTask(Input, (input) => evaluateWave(ports, input));
}
