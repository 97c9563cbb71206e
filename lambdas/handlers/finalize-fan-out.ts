import { type FinalizeFanOutPorts, finalizeFanOut } from '#app/fan-out/finalize.ts';
import { logger, task } from '#commons/powertools.ts';
import type { DeploymentStatus } from '#core/records.ts';
import { FanOutState } from '#core/regions.ts';

/**
 * Last state of the fan-out machine: closes the multi-region deployment
 * (terminal status, counts over every region, the end announced once) and
 * answers its status for the machine's last choice.
 */
export function createFinalizeFanOut(ports: FinalizeFanOutPorts) {
  return task(async (event: unknown): Promise<FanOutState & { status: DeploymentStatus }> => {
    const ended = await finalizeFanOut(ports, FanOutState.parse(event));
    logger.info('multi-region deployment finished', { deploymentId: ended.deploymentId, status: ended.status, reason: ended.reason });
    return ended;
  });
}
