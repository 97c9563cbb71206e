import { UnsupportedCron } from '#core/errors.ts';

/**
 * Schedules: the five-field cron of `spec.window.cron` in EventBridge
 * Scheduler's six-field dialect, and the time-zone check every schedule and
 * window uses.
 */

/** Whether `timezone` is an IANA time zone this runtime knows (for example Europe/Paris or UTC). */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Indexed by the five-field cron's day number (0 = Sunday); EventBridge numbers them 1 (SUN) to 7 (SAT). */
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for the values from `min` on (JAN..., SUN...). */
  readonly names?: readonly string[];
}
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS };
/** 7 is Sunday too, as in five-field cron. */
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAYS };

/** One comma-separated item: `*`, `*\/step`, `value`, `from-to` or `from-to/step`. */
const ITEM = /^(?:(\*)|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d+))?$/;

type Item = { readonly kind: 'all'; readonly step?: number } | { readonly kind: 'values'; readonly values: number[] };

function value(cron: string, field: FieldSpec, text: string): number {
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = index >= 0 ? field.min + index : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= field.min && n <= field.max))
    throw new UnsupportedCron(
      cron,
      `${field.name}: ${text} is not a value from ${field.min} to ${field.max}${field.names ? ' or a name' : ''}`,
    );
  return n;
}

function parseItem(cron: string, field: FieldSpec, item: string): Item {
  const match = ITEM.exec(item);
  if (!match) throw new UnsupportedCron(cron, `${field.name}: "${item}" is not a value, a range, * or a step`);
  const [, star, from, to, stepText] = match;
  const step = stepText === undefined ? undefined : Number(stepText);
  if (step !== undefined && !(step >= 1 && step <= field.max))
    throw new UnsupportedCron(cron, `${field.name}: step ${stepText} must be from 1 to ${field.max}`);
  if (star) return step === undefined ? { kind: 'all' } : { kind: 'all', step };
  const start = value(cron, field, from as string);
  if (to === undefined && step !== undefined)
    throw new UnsupportedCron(cron, `${field.name}: "${item}": a step needs * or a range before it (*/${step} or a-b/${step})`);
  const end = to === undefined ? start : value(cron, field, to);
  if (end < start) throw new UnsupportedCron(cron, `${field.name}: the range ${item} runs backwards`);
  const values: number[] = [];
  for (let n = start; n <= end; n += step ?? 1) values.push(n);
  return { kind: 'values', values };
}

/** Minute, hour, day-of-month or month: `*`, steps from the field's first value, ranges and lists, all numeric. */
function numericField(cron: string, field: FieldSpec, text: string): string {
  const items = text.split(',').map((item) => parseItem(cron, field, item));
  if (items.length > 1 && items.some((i) => i.kind === 'all')) throw new UnsupportedCron(cron, `${field.name}: * cannot be part of a list`);
  const [first] = items;
  if (first?.kind === 'all') return first.step === undefined ? '*' : `${field.min}/${first.step}`;
  return compress([...new Set(items.flatMap((i) => (i.kind === 'values' ? i.values : [])))].sort((a, b) => a - b)).join(',');
}

/** Sorted values as a list in which runs of three or more are ranges. */
function compress(values: readonly number[], show: (n: number) => string = String): string[] {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] as number) + 1) j++;
    const [a, b] = [values[i] as number, values[j] as number];
    if (j - i >= 2) parts.push(`${show(a)}-${show(b)}`);
    else for (let k = i; k <= j; k++) parts.push(show(values[k] as number));
    i = j + 1;
  }
  return parts;
}

function dayOfMonth(cron: string, text: string): string {
  const upper = text.toUpperCase();
  if (upper === 'L' || upper === 'LW') return upper;
  const weekday = /^(\d{1,2})W$/.exec(upper);
  if (weekday) return `${value(cron, DAY_OF_MONTH, weekday[1] as string)}W`;
  if (/[LW]/.test(upper)) throw new UnsupportedCron(cron, `day-of-month: "${text}": L and W stand alone (L, LW or nW)`);
  return numericField(cron, DAY_OF_MONTH, text);
}

/** EventBridge's day number: 1 (SUN) to 7 (SAT). */
const eventBridgeDay = (day: number) => (day % 7) + 1;

function dayOfWeek(cron: string, text: string): string {
  const nth = /^([A-Za-z0-9]+)#(\d)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new UnsupportedCron(cron, `day-of-week: "${text}": the occurrence after # must be from 1 to 5`);
    return `${eventBridgeDay(value(cron, DAY_OF_WEEK, nth[1] as string))}#${n}`;
  }
  if (text.toUpperCase() === 'L') throw new UnsupportedCron(cron, 'day-of-week: L needs a day before it (for example 5L, the last Friday)');
  const last = /^([A-Za-z0-9]+?)L$/i.exec(text);
  if (last) return `${eventBridgeDay(value(cron, DAY_OF_WEEK, last[1] as string))}L`;
  if (/[#]/.test(text) || /L$|L,/i.test(text))
    throw new UnsupportedCron(cron, `day-of-week: "${text}": # and L stand alone (for example FRI#2 or 5L)`);
  // EventBridge takes no step in day-of-week: every day is listed by name.
  const days = new Set<number>();
  for (const item of text.split(',').map((i) => parseItem(cron, DAY_OF_WEEK, i))) {
    const values =
      item.kind === 'all' ? Array.from({ length: Math.ceil(7 / (item.step ?? 1)) }, (_, i) => i * (item.step ?? 1)) : item.values;
    for (const day of values) days.add(day % 7);
  }
  return compress(
    [...days].sort((a, b) => a - b),
    (day) => DAYS[day] as string,
  ).join(',');
}

/**
 * Converts a five-field cron (minute hour day-of-month month day-of-week, as
 * in `spec.window.cron`) to EventBridge Scheduler's six-field
 * `cron(minutes hours day-of-month month day-of-week year)`: one of the two
 * day fields becomes `?`, days of the week are named (EventBridge numbers them
 * from 1, SUN, and takes no step there), steps start at the field's first
 * value, and stepped ranges become lists. Macros such as `@daily` are
 * accepted.
 *
 * @throws UnsupportedCron for what Scheduler cannot express, above all a
 * day-of-month and a day-of-week together (cron runs on either; Scheduler takes one).
 */
export function toSchedulerCron(cron: string): string {
  const trimmed = cron.trim();
  const fields = (MACROS[trimmed.toLowerCase()] ?? trimmed).split(/\s+/);
  if (fields.length !== 5)
    throw new UnsupportedCron(cron, `give five fields (minute hour day-of-month month day-of-week), not ${fields.length}`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  if (!anyDom && !anyDow) {
    throw new UnsupportedCron(
      cron,
      'a day-of-month and a day-of-week together (cron runs on either day) cannot be expressed by EventBridge Scheduler: give * for one of them, or use two windows',
    );
  }
  const [day, weekday] = anyDow ? [anyDom ? '*' : dayOfMonth(cron, dom), '?'] : ['?', dayOfWeek(cron, dow)];
  return `cron(${numericField(cron, MINUTE, minute)} ${numericField(cron, HOUR, hour)} ${day} ${numericField(cron, MONTH, month)} ${weekday} *)`;
}
