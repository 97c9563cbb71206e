import type { DeploymentStatus, Release } from '#core/records.ts';

/** A closed deployment's status, which can only be a terminal one. */
export function terminal(status: DeploymentStatus): Exclude<DeploymentStatus, 'PENDING' | 'RUNNING'> {
  if (status === 'PENDING' || status === 'RUNNING') throw new Error(`a closed deployment cannot be ${status}`);
  return status;
}

/** The metric a deployment's end counts in. */
export const CLOSE_METRIC: Readonly<Record<DeploymentStatus, string>> = {
  PENDING: 'DeploymentsFailed',
  RUNNING: 'DeploymentsFailed',
  SUCCEEDED: 'DeploymentsSucceeded',
  FAILED: 'DeploymentsFailed',
  ROLLED_BACK: 'DeploymentsRolledBack',
  ABORTED: 'DeploymentsAborted',
};

/** Releases read back to find when service broke (as `deployctl metrics` counts time to restore). */
export const RESTORE_LOOKBACK = 20;

/**
 * The end of the first failed change of the failures just before now (newest
 * first in `releases`), skipping aborted deployments; undefined when the last
 * change did not fail.
 */
export function firstFailureOfTrailingRun(releases: readonly Release[]): string | undefined {
  let first: string | undefined;
  for (const release of releases) {
    if (release.status === 'ABORTED') continue;
    if (release.status !== 'FAILED' && release.status !== 'ROLLED_BACK') break;
    first = release.endedAt;
  }
  return first;
}

/** Whole seconds from an ISO time to `to`, never negative. */
export function secondsBetween(from: string, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - Date.parse(from)) / 1000));
}
