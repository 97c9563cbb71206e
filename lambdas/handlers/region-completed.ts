import * as z from 'zod';
import { RecordNotFound } from '#core/errors.ts';
import { EVENT_SOURCE } from '../adapters/aws/eventbridge.ts';
import { logger, task } from '../commons/powertools.ts';
import { REGIONAL_COMPLETED, RegionalCompleted } from '../core/regions.ts';
import type { FanOutDeps } from './start-fan-out.ts';

/** The event as EventBridge delivers it to the rule's target. */
const CompletedEvent = z.object({
  'detail-type': z.literal(REGIONAL_COMPLETED),
  source: z.literal(EVENT_SOURCE),
  detail: RegionalCompleted,
});

/** SendTaskSuccess on a token whose wait has ended (timed out, or answered by an earlier delivery). */
const CLOSED_TOKEN_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

export type RegionCompletedResult = { readonly delivered: boolean };

/**
 * "Regional Deployment Completed" on the control region's bus: records the
 * region's outcome, counts and timings in the parent record and wakes the
 * fan-out execution's wait for that region with the token stored when it was
 * requested. EventBridge delivers at least once: a repeat finds no token (or
 * a closed one) and changes nothing the first did not.
 */
export function createRegionCompleted(deps: FanOutDeps) {
  return task(async (event: unknown): Promise<RegionCompletedResult> => {
    const { detail } = CompletedEvent.parse(event);
    const { parentId, region, phase } = detail;
    logger.appendKeys({ deploymentId: parentId, region, phase, regionalDeploymentId: detail.deploymentId });
    const record = await deps.deployments.getDeployment(parentId).catch((error: unknown) => {
      if (error instanceof RecordNotFound) return undefined;
      throw error;
    });
    const entry = phase === 'rollback' ? record?.regions?.[region]?.rollback : record?.regions?.[region];
    if (!entry?.token || entry.deploymentId !== detail.deploymentId) {
      logger.info('no wait for this completion: a repeat, or the wait ended');
      return { delivered: false };
    }
    const now = deps.clock.now();
    // Recorded before the token goes back: the evaluation the token wakes reads the record.
    await deps.regions.updateRegion(
      parentId,
      region,
      phase,
      {
        status: detail.status,
        reason: detail.reason,
        hosts: detail.hosts,
        succeeded: detail.succeeded,
        failed: detail.failed,
        rolledBack: detail.rolledBack,
        previousVersion: detail.previousVersion,
        startedAt: detail.startedAt,
        endedAt: detail.endedAt,
      },
      now,
    );
    let delivered = true;
    try {
      await deps.callbacks.succeed(entry.token, detail);
    } catch (error) {
      if (!CLOSED_TOKEN_ERRORS.includes((error as Error).name)) throw error;
      // The wait ended (an earlier delivery, or its timeout): the record keeps the region's real outcome.
      delivered = false;
    }
    // Only once the token went back: a retry after a failed send finds it still there and sends it again.
    await deps.regions.updateRegion(parentId, region, phase, { token: null }, now);
    await deps.audit.appendEvent(
      parentId,
      phase === 'deploy' ? 'RegionCompleted' : 'RegionRollbackCompleted',
      'deployctl',
      { region, regionalDeploymentId: detail.deploymentId, status: detail.status, reason: detail.reason },
      now,
    );
    logger.info('regional deployment completed', { status: detail.status, delivered });
    return { delivered };
  });
}
