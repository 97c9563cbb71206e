import { CalendarUnavailable } from '#core/errors.ts';
import { decideCalendar, type WindowDecision } from '#core/window.ts';
import type { Ports } from '#ports';

/**
 * The change calendar's decision at `now` (SSM GetCalendarState). A calendar
 * SSM cannot read (no such document, not a calendar) is a refusal with SSM's
 * reason: a deployment never goes ahead on a calendar nobody can see.
 */
export async function calendarDecision(
  ports: Pick<Ports, 'calendars'>,
  name: string,
  outside: 'refuse' | 'wait',
  now: Date,
  latestOpening: Date,
): Promise<WindowDecision> {
  try {
    return decideCalendar(name, await ports.calendars.state(name, now), outside, latestOpening);
  } catch (error) {
    if (error instanceof CalendarUnavailable) return { action: 'refuse', reason: error.message };
    throw error;
  }
}
