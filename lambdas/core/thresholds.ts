import { resolveCount } from './plan.ts';
import type { CountOrPercent } from './spec.ts';

export interface FleetCounts {
  /** Hosts targeted by the deployment. */
  readonly total: number;
  /** Hosts whose command failed, timed out or was never delivered, so far. */
  readonly failed: number;
}

export interface ThresholdVerdict {
  readonly ok: boolean;
  readonly reason?: string;
}

/**
 * Checks the error budget: failures may not exceed maxErrors, and the hosts
 * still healthy may not fall below minHealthy. Percentages are of `total`;
 * maxErrors rounds down (10% of 12 hosts allows 1) and minHealthy rounds up.
 */
export function evaluateThresholds(
  counts: FleetCounts,
  maxErrors: CountOrPercent,
  minHealthy: CountOrPercent | undefined,
): ThresholdVerdict {
  const allowed = resolveCount(maxErrors, counts.total, 'down');
  if (counts.failed > allowed) {
    return {
      ok: false,
      reason: `${counts.failed} of ${counts.total} hosts failed, more than maxErrors allows (${allowed})`,
    };
  }
  if (minHealthy !== undefined) {
    const required = resolveCount(minHealthy, counts.total, 'up');
    const healthy = counts.total - counts.failed;
    if (healthy < required) {
      return { ok: false, reason: `${healthy} of ${counts.total} hosts healthy, fewer than minHealthy requires (${required})` };
    }
  }
  return { ok: true };
}

/** SSM statuses that count against the error budget (SSM's own MaxErrors ignores some of them). */
export function isHostFailure(status: string): boolean {
  return status !== 'Success';
}

/**
 * Statuses that say the command never reached the host (the agent was
 * offline, the host unknown to SSM): the host still runs what it ran before,
 * so a rollback has nothing to undo there. They still count as failures.
 */
export const NOT_DELIVERED = new Set(['Undeliverable', 'DeliveryTimedOut', 'InvalidPlatform', 'AccessDenied', 'NoInstancesInTag']);
