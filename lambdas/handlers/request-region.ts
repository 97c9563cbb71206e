import * as z from 'zod';
import { type RequestRegionPorts, requestRegion } from '#app/fan-out/request-region.ts';
import { logger, task } from '#commons/powertools.ts';
import { RegionRequest } from '#core/regions.ts';

const Input = z.object({ request: RegionRequest, taskToken: z.string().min(1) });

/**
 * One region of a region wave (a Map item; the task waits on its token):
 * requests the region's deployment or rollback through EventBridge, keeping
 * the token in the control region's record.
 */
export function createRequestRegion(ports: RequestRegionPorts) {
  return task(async (event: unknown): Promise<{ requested: string }> => {
    const { request, taskToken } = Input.parse(event);
    logger.appendKeys({ deploymentId: request.deploymentId, region: request.region, phase: request.phase });
    const { requested } = await requestRegion(ports, request, taskToken);
    logger.info('regional deployment requested', { regionalDeploymentId: requested });
    return { requested };
  });
}
