import * as z from 'zod';
import { RegionalRollbackRefused, RollbackRefused } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { REGIONAL_REQUESTED, RegionRequest, regionalDeploymentId, regionalRollbackSpec, regionalSpec } from '../core/regions.ts';
import type { DeploymentSpecInput } from '../core/spec.ts';
import type { FanOutDeps } from './start-fan-out.ts';

const Input = z.object({ request: RegionRequest, taskToken: z.string().min(1) });

/**
 * One region of a region wave (a Map item; the task waits on its token):
 * stores the token in the region's entry of the parent record, then puts
 * "Regional Deployment Requested" with the region's spec on the control
 * region's bus, from where a rule forwards it to the region's bus. The region's
 * "Regional Deployment Completed" comes back to `regionCompleted`, which
 * sends the stored token back. The token never leaves the control region.
 */
export function createRequestRegion(deps: FanOutDeps) {
  return task(async (event: unknown): Promise<{ requested: string }> => {
    const { request, taskToken } = Input.parse(event);
    const { deploymentId: parentId, region, phase } = request;
    logger.appendKeys({ deploymentId: parentId, region, phase });
    const record = await deps.deployments.getDeployment(parentId);
    const progress = record.regions?.[region];
    if (!progress) throw new Error(`region ${region} is not one of deployment ${parentId}'s regions`);
    let spec: DeploymentSpecInput;
    if (phase === 'deploy') {
      spec = regionalSpec(record.spec, parentId, region);
    } else {
      try {
        spec = regionalRollbackSpec(record.spec, parentId, region, progress);
      } catch (error) {
        if (error instanceof RollbackRefused) throw new RegionalRollbackRefused(error.message, { cause: error });
        throw error;
      }
    }
    const deploymentId = regionalDeploymentId(parentId, region, phase);
    const now = deps.clock.now();
    await deps.regions.updateRegion(
      parentId,
      region,
      phase,
      { deploymentId, status: 'REQUESTED', token: taskToken, requestedAt: now.toISOString(), reason: null },
      now,
    );
    if (phase === 'deploy') await deps.deployments.updateDeployment(parentId, { currentRegionWave: progress.wave }, now);
    await deps.events.put({
      detailType: REGIONAL_REQUESTED,
      detail: { parentId, region, phase, deploymentId, spec: spec as Record<string, unknown> },
    });
    await deps.audit.appendEvent(
      parentId,
      phase === 'deploy' ? 'RegionRequested' : 'RegionRollbackRequested',
      'deployctl',
      { region, regionalDeploymentId: deploymentId, wave: progress.wave },
      now,
    );
    logger.info('regional deployment requested', { regionalDeploymentId: deploymentId });
    return { requested: deploymentId };
  });
}
