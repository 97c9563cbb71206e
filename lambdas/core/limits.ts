/** Time and size limits the use cases share. */

/** How long a lock lives before another deployment may take it over (the state machine's own timeout). */
export const LOCK_TTL_SECONDS = 24 * 3600;
/** Extra time the wait for a command allows beyond the command's own timeout, for delivery. */
export const WAIT_MARGIN_SECONDS = 120;
/** SSM SendCommand takes at most 50 instance ids. */
export const SEND_COMMAND_LIMIT = 50;
/**
 * How long after its start a deployment may still wait for its window to
 * open: the execution and its lock live a day, and the deployment itself
 * needs the rest of it.
 */
export const MAX_WINDOW_WAIT_SECONDS = LOCK_TTL_SECONDS - 4 * 3600;

/** `items` in consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
