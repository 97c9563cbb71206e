import { createJournal } from '#app/journal.ts';
import { terminal } from '#core/closing.ts';
import type { DeploymentStatus } from '#core/records.ts';
import { aggregateCounts, type FanOutState } from '#core/regions.ts';
import { endingOf } from '#core/state.ts';
import type { Ports } from '#ports';

/** What closing a fan-out talks to. */
export type FinalizeFanOutPorts = Pick<Ports, 'deployments' | 'audit' | 'events' | 'clock'>;

/**
 * Closes a multi-region deployment: the parent's terminal status (SUCCEEDED,
 * FAILED, or ROLLED_BACK when the roll-back-all policy rolled every region
 * done back), the counts over every region, and, once however often it is
 * retried, the audit event and the "Deployment Status Change" event. The
 * parent writes no release history and holds no lock: each region's
 * deployment does both in its region.
 */
export async function finalizeFanOut(
  ports: FinalizeFanOutPorts,
  state: FanOutState,
): Promise<FanOutState & { status: DeploymentStatus; reason?: string }> {
  const id = state.deploymentId;
  const { status, reason } = endingOf(state);
  const now = ports.clock.now();
  const counts = aggregateCounts((await ports.deployments.getDeployment(id)).regions ?? {});
  await ports.deployments.updateDeployment(id, counts, now);
  const record = await ports.deployments.finishDeployment(id, status, reason, now);
  // Announced once, as a strategy deployment's close is: a retried finalize writes nothing twice.
  await createJournal(ports).announce(
    {
      deploymentId: id,
      once: 'Closed',
      event: { type: 'DeploymentFinished', actor: 'deployctl', detail: { status: record.status, reason: reason ?? null } },
      status: {
        app: record.spec.app,
        environment: record.spec.environment,
        version: record.spec.version,
        status: terminal(record.status),
        reason: reason ?? null,
        hosts: counts.hostCount,
        failed: counts.failed,
      },
    },
    now,
  );
  return { ...state, status: record.status, ...(reason ? { reason } : {}) };
}
