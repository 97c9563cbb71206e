import { isClosedToken, RecordNotFound } from '#core/errors.ts';
import type { RegionalCompleted } from '#core/regions.ts';
import type { Ports } from '#ports';

/** What recording a region's completion talks to. */
export type RegionCompletedPorts = Pick<Ports, 'deployments' | 'audit' | 'regions' | 'callbacks' | 'clock'>;

/** SendTaskSuccess on a token whose wait has ended (timed out, or answered by an earlier delivery). */

/** What a completion did. */
export interface RegionCompletion {
  /** Whether a wait was found for this completion (false: a repeat, or the wait ended and its token was cleared). */
  readonly recorded: boolean;
  /** Whether the token went back to the fan-out execution (false when nothing waited, or the wait had just closed). */
  readonly delivered: boolean;
}

/**
 * A region's deployment (or rollback) has ended: records its outcome, counts
 * and timings in the parent record, then wakes the fan-out execution's wait
 * for that region with the token stored when it was requested, then clears
 * the token. Completions arrive at least once: a repeat finds no token (or a
 * closed one) and changes nothing the first did not.
 */
export async function regionCompleted(ports: RegionCompletedPorts, detail: RegionalCompleted): Promise<RegionCompletion> {
  const { parentId, region, phase } = detail;
  const record = await ports.deployments.getDeployment(parentId).catch((error: unknown) => {
    if (error instanceof RecordNotFound) return undefined;
    throw error;
  });
  const entry = phase === 'rollback' ? record?.regions?.[region]?.rollback : record?.regions?.[region];
  if (!entry?.token || entry.deploymentId !== detail.deploymentId) return { recorded: false, delivered: false };
  const now = ports.clock.now();
  // Recorded before the token goes back: the evaluation the token wakes reads the record.
  await ports.regions.updateRegion(
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
    await ports.callbacks.succeed(entry.token, detail);
  } catch (error) {
    if (!isClosedToken(error)) throw error;
    // The wait ended (an earlier delivery, or its timeout): the record keeps the region's real outcome.
    delivered = false;
  }
  // Only once the token went back: a retry after a failed send finds it still there and sends it again.
  await ports.regions.updateRegion(parentId, region, phase, { token: null }, now);
  await ports.audit.appendEvent(
    parentId,
    phase === 'deploy' ? 'RegionCompleted' : 'RegionRollbackCompleted',
    'deployctl',
    { region, regionalDeploymentId: detail.deploymentId, status: detail.status, reason: detail.reason },
    now,
  );
  return { recorded: true, delivered };
}
