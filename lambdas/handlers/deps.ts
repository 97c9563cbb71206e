import type { Records } from '../adapters/aws/records.ts';
import type { Alarms, Clock, Events, FleetCommands, Inventory, TaskCallbacks, Traffic } from '../ports.ts';

/** Everything a handler talks to; the AWS or the local set is chosen at the edge. */
export interface Deps {
  readonly records: Records;
  readonly fleet: FleetCommands;
  readonly inventory: Inventory;
  readonly alarms: Alarms;
  readonly callbacks: TaskCallbacks;
  readonly events: Events;
  /** ALB listener weights (blue-green). */
  readonly traffic: Traffic;
  readonly clock: Clock;
}

/** How long a lock lives before another deployment may take it over (the state machine's own timeout). */
export const LOCK_TTL_SECONDS = 24 * 3600;
/** Extra time the wait for a command allows beyond the command's own timeout, for delivery. */
export const WAIT_MARGIN_SECONDS = 120;
/** SSM SendCommand takes at most 50 instance ids. */
export const SEND_COMMAND_LIMIT = 50;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
