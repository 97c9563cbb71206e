import * as z from 'zod';
import { type RegionCompletedPorts, regionCompleted } from '#app/fan-out/region-completed.ts';
import { logger, task } from '#commons/powertools.ts';
import { EVENT_SOURCE } from '#core/events.ts';
import { REGIONAL_COMPLETED, RegionalCompleted } from '#core/regions.ts';

/** The event as EventBridge delivers it to the rule's target. */
const CompletedEvent = z.object({
  'detail-type': z.literal(REGIONAL_COMPLETED),
  source: z.literal(EVENT_SOURCE),
  detail: RegionalCompleted,
});

/** Whether the completion woke the fan-out's wait. */
export type RegionCompletedResult = { readonly delivered: boolean };

/**
 * "Regional Deployment Completed" on the control region's bus: records the
 * region's outcome in the parent record and wakes the fan-out execution's
 * wait for that region. EventBridge delivers at least once: a repeat changes
 * nothing.
 */
export function createRegionCompleted(ports: RegionCompletedPorts) {
  return task(async (event: unknown): Promise<RegionCompletedResult> => {
    const { detail } = CompletedEvent.parse(event);
    logger.appendKeys({
      deploymentId: detail.parentId,
      region: detail.region,
      phase: detail.phase,
      regionalDeploymentId: detail.deploymentId,
    });
    const { recorded, delivered } = await regionCompleted(ports, detail);
    if (recorded) logger.info('regional deployment completed', { status: detail.status, delivered });
    else logger.info('no wait for this completion: a repeat, or the wait ended');
    return { delivered };
  });
}
