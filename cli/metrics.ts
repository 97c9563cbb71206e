import { type Band, computeDora, type DoraMetrics, parseSince } from '#core/dora.ts';
import { InvalidSince } from '#core/errors.ts';
import type { Release } from '#core/records.ts';
import type { Backend } from './backend.ts';
import { EXIT, type Output, table } from './commands.ts';
import { BadInput } from './spec-input.ts';

/** Releases read per query while paging back to the window start. */
const PAGE_SIZE = 100;

/** The --since flag as the window start, or bad input naming the flag. */
export function sinceFlag(value: string, now: Date): Date {
  try {
    return parseSince(value, now);
  } catch (error) {
    if (error instanceof InvalidSince) throw new BadInput(`--since ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * The releases of app+env back to `since`: pages come newest first, so
 * paging stops at the first page that reaches back past it (computeDora
 * drops the older ones of that page).
 */
export async function releasesSince(records: Backend['records'], app: string, env: string, since: Date): Promise<Release[]> {
  const releases: Release[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await records.releases.listReleases(app, env, PAGE_SIZE, cursor);
    releases.push(...page.items);
    const oldest = page.items.at(-1);
    if (oldest && Date.parse(oldest.endedAt) < since.getTime()) break;
    cursor = page.cursor;
  } while (cursor);
  return releases;
}

/**
 * `deployctl metrics`: the DORA keys of one app+env over a window ending now,
 * as a table for a person and the computed metrics as JSON.
 */
export async function metrics(
  backend: Pick<Backend, 'records'>,
  out: Output,
  options: { app: string; env: string; since: Date; until?: Date },
): Promise<number> {
  const until = options.until ?? new Date();
  const releases = await releasesSince(backend.records, options.app, options.env, options.since);
  const dora = computeDora(releases, { since: options.since, until });
  for (const line of describeMetrics(options.app, options.env, dora)) out.line(line);
  out.result({ app: options.app, environment: options.env, ...dora });
  return EXIT.ok;
}

/** The metrics as a person reads them: a heading, then one row per metric with its band. */
export function describeMetrics(app: string, env: string, dora: DoraMetrics): string[] {
  const heading = `DORA metrics of ${app} in ${env}, ${when(dora.window.since)} to ${when(dora.window.until)} (${days(dora.window.days)})`;
  if (dora.deployments === 0) return [heading, '  no deployment ended in this window'];
  const { leadTime, timeToRestore, changeFailureRate, bands } = dora;
  const rows = [
    ['METRIC', 'VALUE', 'BAND'],
    ['deployments', `${dora.deployments} (${statuses(dora.byStatus)})`, ''],
    [
      'deployment frequency',
      `${rate(dora.deploymentFrequency.perDay)} a day, ${rate(dora.deploymentFrequency.perWeek)} a week (${dora.deploymentFrequency.successful} successful)`,
      band(bands.deploymentFrequency),
    ],
    [
      'lead time for changes',
      leadTime
        ? `median ${duration(leadTime.medianSeconds)}, p90 ${duration(leadTime.p90Seconds)} (${plural(leadTime.samples, 'deployment')})`
        : '- (no successful change with a commit time)',
      band(bands.leadTime),
    ],
    [
      'change failure rate',
      changeFailureRate === null
        ? '- (no change: only rollbacks or aborts)'
        : `${Math.round(changeFailureRate * 100)}% (${dora.changes.failed} of ${plural(dora.changes.total, 'change')})`,
      band(bands.changeFailureRate),
    ],
    [
      'time to restore',
      timeToRestore
        ? `median ${duration(timeToRestore.medianSeconds)} (${plural(timeToRestore.samples, 'restore')})`
        : '- (no failure restored in this window)',
      band(bands.timeToRestore),
    ],
  ];
  return [heading, ...table(rows).map((line) => `  ${line}`)];
}

function when(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
}

function band(value: Band | null): string {
  return value ?? '-';
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function days(n: number): string {
  const rounded = Number(n.toFixed(n < 1 ? 2 : 1));
  return `${rounded} day${rounded === 1 ? '' : 's'}`;
}

function rate(n: number): string {
  return n >= 10 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2);
}

function statuses(byStatus: DoraMetrics['byStatus']): string {
  return Object.entries(byStatus)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status.toLowerCase().replace('_', ' ')}`)
    .join(', ');
}

const UNITS = [
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
] as const;

/** A duration in its largest unit and the next one: 45s, 12m 5s, 3h, 2d 4h. */
export function duration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const at = UNITS.findIndex(([, size]) => total >= size);
  const [unit, size] = UNITS[at] ?? ['s', 1];
  const count = Math.floor(total / size);
  const next = UNITS[at + 1];
  const rest = next ? Math.floor((total - count * size) / next[1]) : 0;
  return next && rest > 0 ? `${count}${unit} ${rest}${next[0]}` : `${count}${unit}`;
}
