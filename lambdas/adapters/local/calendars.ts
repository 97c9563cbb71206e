import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CalendarUnavailable } from '#core/errors.ts';
import type { CalendarState } from '#core/window.ts';
import type { ChangeCalendars } from '#ports';

/** The file in the local fleet folder that holds the local change calendars. */
export const CALENDARS_FILE = 'change-calendars.json';

/** One calendar of the file, in GetCalendarState's own fields. */
export interface LocalCalendarEntry {
  readonly State: 'OPEN' | 'CLOSED';
  /** When the state flips; from then on the calendar reads the other state (and no further transition). */
  readonly NextTransitionTime?: string;
}

/** Writes (replaces) the local calendar `name` in the fleet folder's calendar file. */
export async function writeLocalCalendar(fleetDir: string, name: string, entry: LocalCalendarEntry): Promise<void> {
  const file = path.join(fleetDir, CALENDARS_FILE);
  const all = await readCalendars(file);
  await writeFile(file, `${JSON.stringify({ ...all, [name]: entry }, null, 2)}\n`);
}

async function readCalendars(file: string): Promise<Record<string, LocalCalendarEntry>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '{}';
    throw error;
  });
  return JSON.parse(text) as Record<string, LocalCalendarEntry>;
}

/**
 * Local SSM Change Calendar: the calendars of `change-calendars.json` in the
 * fleet folder, read at every call (a test or a user closes one mid-deployment
 * by rewriting the file). As GetCalendarState: the state at `at`, the next
 * transition when there is one ahead, and a calendar that does not exist is
 * InvalidDocument ("The specified SSM document doesn't exist").
 */
export class LocalCalendars implements ChangeCalendars {
  constructor(private readonly fleetDir: string) {}

  async state(calendarName: string, at: Date): Promise<CalendarState> {
    const entry = (await readCalendars(path.join(this.fleetDir, CALENDARS_FILE)))[calendarName];
    if (!entry) {
      const cause = Object.assign(new Error("The specified SSM document doesn't exist."), { name: 'InvalidDocument' });
      throw new CalendarUnavailable(`change calendar ${calendarName} cannot be read: ${cause.name}: ${cause.message}`, { cause });
    }
    if (entry.State !== 'OPEN' && entry.State !== 'CLOSED') throw new Error(`local calendar ${calendarName}: State must be OPEN or CLOSED`);
    const next = entry.NextTransitionTime ? new Date(entry.NextTransitionTime) : undefined;
    if (next && next.getTime() <= at.getTime()) return { state: entry.State === 'OPEN' ? 'CLOSED' : 'OPEN' };
    return { state: entry.State, ...(next ? { nextTransitionTime: next } : {}) };
  }
}
