import type { StatusChangeDetail } from '#core/events.ts';
import type { Ports } from '#ports';

/** One entry of a deployment's audit trail: what happened, who did it, and the detail. */
export interface AuditEntry {
  readonly type: string;
  readonly actor: string;
  readonly detail?: Record<string, unknown>;
}

export interface Announcement {
  readonly deploymentId: string;
  /**
   * Written at most once per key (e.g. `WaveStarted#3`): a task that Step
   * Functions retries writes the audit event, and puts the status event, only
   * if no attempt did before. Without a key every call writes.
   */
  readonly once?: string;
  /** The audit event. */
  readonly event: AuditEntry;
  /** The "Deployment Status Change" event that goes with it, put once the audit event is written. */
  readonly status?: Omit<StatusChangeDetail, 'deploymentId'>;
}

export type Journal = ReturnType<typeof createJournal>;

/**
 * The one way a deployment's changes are told: the audit event in DynamoDB,
 * then the "Deployment Status Change" event on EventBridge, both at most once
 * per key (the write-once guard is the audit log's). Metrics stay with the
 * caller, which learns whether this call was the first.
 */
export function createJournal(ports: Pick<Ports, 'audit' | 'events'>) {
  return {
    /** Records the event (once per key, if given) and then its status change; returns whether this call wrote them. */
    async announce(announcement: Announcement, now: Date): Promise<boolean> {
      const { deploymentId: id, once, event, status } = announcement;
      const detail = event.detail ?? {};
      if (once === undefined) await ports.audit.appendEvent(id, event.type, event.actor, detail, now);
      else if (!(await ports.audit.appendEventOnce(id, once, event.type, event.actor, detail, now))) return false;
      if (status) await ports.events.put({ detailType: 'Deployment Status Change', detail: { deploymentId: id, ...status } });
      return true;
    },
  };
}
