import { Cron } from 'croner';
import { InvalidWindow } from './errors.ts';
import type { Window } from './spec.ts';

export interface WindowCheck {
  readonly open: boolean;
  readonly reason: string;
  /** When the window next opens, if it is closed. */
  readonly nextOpening?: Date;
}

/** The calendar date of `at` in a time zone, as YYYY-MM-DD. */
function localDate(at: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function cronOf(window: Window): Cron {
  try {
    return new Cron(window.cron, { timezone: window.timezone, paused: true });
  } catch (error) {
    throw new InvalidWindow(`window.cron "${window.cron}" in ${window.timezone} is not valid: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Is a maintenance window open at `now`? It opens at each cron time (read in
 * the window's time zone) and stays open for durationMinutes, except on
 * blackout dates (also in that time zone).
 */
export function checkWindow(window: Window, now: Date): WindowCheck {
  const cron = cronOf(window);
  const durationMs = window.durationMinutes * 60_000;
  const blackout = new Set(window.blackoutDates);
  const today = localDate(now, window.timezone);
  if (blackout.has(today)) {
    return { open: false, reason: `${today} is a blackout date`, nextOpening: nextOpening(cron, now, blackout, window.timezone) };
  }
  // The latest opening at or before now; a cron time equal to now counts.
  const last = cron.match(now) && now.getSeconds() === 0 ? now : cron.previousRuns(1, now)[0];
  // A window that opened on a blackout date stays shut, even past midnight.
  if (last && blackout.has(localDate(last, window.timezone)) && now.getTime() < last.getTime() + durationMs) {
    const next = nextOpening(cron, now, blackout, window.timezone);
    return { open: false, reason: `the window opened on ${localDate(last, window.timezone)}, a blackout date`, nextOpening: next };
  }
  if (last && now.getTime() < last.getTime() + durationMs) {
    return { open: true, reason: `window opened ${last.toISOString()} and closes ${new Date(last.getTime() + durationMs).toISOString()}` };
  }
  const next = nextOpening(cron, now, blackout, window.timezone);
  return {
    open: false,
    reason: `outside the maintenance window (${window.cron} ${window.timezone}, ${window.durationMinutes} min)${next ? `; next opening ${next.toISOString()}` : ''}`,
    nextOpening: next,
  };
}

function nextOpening(cron: Cron, now: Date, blackout: ReadonlySet<string>, timezone: string): Date | undefined {
  let from: Date = now;
  for (let i = 0; i < 400; i++) {
    const next = cron.nextRun(from);
    if (!next) return undefined;
    if (!blackout.has(localDate(next, timezone))) return next;
    from = next;
  }
  return undefined;
}

/** What a deployment does about its maintenance window at a given moment. */
export type WindowDecision =
  /** The window is open: go on. */
  | { readonly action: 'go'; readonly reason: string }
  /** Closed, and the spec says wait: wait until `until`, then check again. */
  | { readonly action: 'wait'; readonly until: Date; readonly reason: string }
  /** Closed, and the spec refuses, or there is no opening to wait for in time. */
  | { readonly action: 'refuse'; readonly reason: string };

/**
 * Decides what a deployment does about its window at `now`: go on when it is
 * open; when it is closed, refuse (policy `refuse`) or wait until the next
 * opening (policy `wait`), as long as that opening comes no later than
 * `latestOpening` (an execution cannot wait for ever). A window with no
 * opening ahead (every one blacked out, a cron that never fires) is refused.
 */
export function decideWindow(window: Window, now: Date, latestOpening: Date): WindowDecision {
  const check = checkWindow(window, now);
  if (check.open) return { action: 'go', reason: check.reason };
  if (window.outside === 'refuse') return { action: 'refuse', reason: check.reason };
  const next = check.nextOpening;
  if (!next) return { action: 'refuse', reason: `${check.reason}; the window has no opening ahead, so there is nothing to wait for` };
  if (next.getTime() > latestOpening.getTime()) {
    const named = check.reason.includes(next.toISOString()) ? 'that is' : `the next opening, ${next.toISOString()}, is`;
    return {
      action: 'refuse',
      reason: `${check.reason}; ${named} later than this deployment may wait (until ${latestOpening.toISOString()})`,
    };
  }
  return { action: 'wait', until: next, reason: check.reason };
}

/** A Change Calendar's state at a moment, as SSM GetCalendarState answers it. */
export interface CalendarState {
  readonly state: 'OPEN' | 'CLOSED';
  /** When the state next changes (to CLOSED if OPEN, and the reverse), when the calendar has a change ahead. */
  readonly nextTransitionTime?: Date;
}

/**
 * What a deployment does about its change calendar (spec `window.changeCalendar`)
 * at a moment: go on when it is OPEN; when it is CLOSED, refuse (policy
 * `refuse`) or wait until it opens (policy `wait`), as long as it opens no
 * later than `latestOpening`. The same rules as the maintenance window's.
 */
export function decideCalendar(name: string, calendar: CalendarState, outside: Window['outside'], latestOpening: Date): WindowDecision {
  const next = calendar.nextTransitionTime;
  if (calendar.state === 'OPEN') {
    return { action: 'go', reason: `change calendar ${name} is OPEN${next ? ` until ${next.toISOString()}` : ''}` };
  }
  const reason = `change calendar ${name} is CLOSED${next ? ` until ${next.toISOString()}` : ''}`;
  if (outside === 'refuse') return { action: 'refuse', reason };
  if (!next) return { action: 'refuse', reason: `${reason}; it has no opening ahead, so there is nothing to wait for` };
  if (next.getTime() > latestOpening.getTime()) {
    return { action: 'refuse', reason: `${reason}, later than this deployment may wait (until ${latestOpening.toISOString()})` };
  }
  return { action: 'wait', until: next, reason };
}

/**
 * A time as a Wait state's TimestampPath takes it: RFC 3339 in UTC, to the
 * second (2026-01-03T01:00:00Z). Step Functions drops milliseconds, so a time
 * between seconds is rounded up: waking early would find the window closed.
 */
export function waitTimestamp(at: Date): string {
  return new Date(Math.ceil(at.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
