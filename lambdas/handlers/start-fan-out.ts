import * as z from 'zod';
import { type StartFanOutPorts, startFanOut } from '#app/fan-out/start.ts';
import { logger, task } from '#commons/powertools.ts';
import type { FanOutState } from '#core/regions.ts';

const Input = z.object({ spec: z.unknown(), executionName: z.string().min(1) });

/**
 * First state of the control region's fan-out machine: starts the
 * multi-region deployment (InvalidSpec and DeploymentExists start nothing)
 * and hands the first region wave to the Map state.
 */
export function createStartFanOut(ports: StartFanOutPorts) {
  return task(async (event: unknown): Promise<FanOutState> => {
    const state = await startFanOut(ports, Input.parse(event));
    logger.appendKeys({ deploymentId: state.deploymentId, app: state.app, environment: state.environment });
    logger.info('multi-region deployment started', {
      regionWaveCount: state.regionWaveCount,
      firstWave: state.waveRegions,
      policy: { bakeSeconds: state.regionBakeSeconds, timeoutSeconds: state.regionTimeoutSeconds, onFailure: state.onRegionFailure },
    });
    return state;
  });
}
