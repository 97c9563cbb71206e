import * as z from 'zod';
import { InvalidSince } from './errors.ts';
import type { DeploymentStatus, Release } from './records.ts';

/**
 * The four DORA keys of one app+env, computed from its release history (the
 * `APP#<app>#<env>` / `RELEASE#<endedAt>` items: one per finished deployment).
 *
 * Choices, so that the numbers can be read without the code:
 * - Window: a release belongs to the window when it ended in it,
 *   `since <= endedAt < until` (the release's sort key is its end).
 * - Deployment frequency: SUCCEEDED deployments per day and per week of the
 *   window ("how often an organization successfully releases to
 *   production"), manual rollbacks included: they are deployments too.
 * - Changes: deployments that are neither manual rollbacks (`rollbackOf`:
 *   they undo a change, they do not bring one) nor ABORTED. An abort is a
 *   person stopping a deployment at a safe point, whose changed hosts roll
 *   back: it neither delivered the change nor failed in production, so it is
 *   left out of the change failure rate (it shows in `byStatus`) rather than
 *   counted as a failure (which would punish stopping early) or a success.
 * - Failed change: a change that ended FAILED or ROLLED_BACK, or that
 *   SUCCEEDED and was later undone by a manual rollback (any release in the
 *   given history whose `rollbackOf` names it, even one after the window).
 * - Change failure rate: failed changes / changes; null without changes.
 * - Lead time for changes: commitTime to endedAt of each SUCCEEDED change
 *   that carries a commitTime (a manual rollback copies the commitTime of the
 *   change it undoes, so it gives no sample; nor does a commitTime after the
 *   end). Median and 90th percentile; null without samples.
 * - Time to restore (DORA 2023: "failed deployment recovery time"): from the
 *   end of a failed change to the end of the next SUCCEEDED deployment that
 *   is not itself a failed change (a fix forward or a manual rollback). A run
 *   of failed changes with no success between them is one failure, timed from
 *   its first; ABORTED and failed rollbacks neither start nor end one. Only
 *   failures that start and end inside the window give a sample; one not yet
 *   restored gives none. Median; null without samples.
 * - Percentiles: median is the middle sample (the mean of the two middle
 *   ones for an even count); p90 is the nearest-rank sample, the
 *   ceil(0.9 n)-th smallest.
 */

export type Band = 'elite' | 'high' | 'medium' | 'low';
export type FinishedStatus = Extract<DeploymentStatus, 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED'>;

export interface DoraWindow {
  readonly since: Date;
  readonly until: Date;
}

export interface DoraMetrics {
  readonly window: { readonly since: string; readonly until: string; readonly days: number };
  /** Every deployment that ended in the window, whatever its outcome. */
  readonly deployments: number;
  readonly byStatus: Readonly<Record<FinishedStatus, number>>;
  readonly deploymentFrequency: { readonly successful: number; readonly perDay: number; readonly perWeek: number };
  readonly leadTime: { readonly medianSeconds: number; readonly p90Seconds: number; readonly samples: number } | null;
  /** The changes the change failure rate is computed over, and how many failed. */
  readonly changes: { readonly total: number; readonly failed: number };
  /** failed changes / changes, in [0, 1]; null without changes. */
  readonly changeFailureRate: number | null;
  readonly timeToRestore: { readonly medianSeconds: number; readonly samples: number } | null;
  /** Each metric's DORA performance band; null where the metric is. */
  readonly bands: {
    readonly deploymentFrequency: Band | null;
    readonly leadTime: Band | null;
    readonly changeFailureRate: Band | null;
    readonly timeToRestore: Band | null;
  };
}

const HOUR = 3600;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** DORA's "month" as a duration: 30 days. */
const MONTH = 30 * DAY;

const FINISHED: readonly DeploymentStatus[] = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED'];

/**
 * The performance bands of the Accelerate State of DevOps Report 2023 (DORA,
 * Google Cloud), chapter "How do you compare?", software delivery performance
 * clusters:
 *
 * - elite: deploys on demand (multiple deploys per day); change lead time less
 *   than one day; change failure rate 5%; recovery in less than one hour.
 * - high: between once per day and once per week; between one day and one
 *   week; 10%; less than one day.
 * - medium: between once per week and once per month; between one week and
 *   one month; 15%; between one day and one week.
 * - low: between once per week and once per month; between one week and one
 *   month; 64%; between one month and six months.
 *
 * The report describes each cluster by its typical values, not by
 * boundaries; here each value is read as the cluster's limit (a failure rate
 * of at most 5% is elite, at most 10% high, at most 15% medium), once a day
 * or more is "on demand", a week is 7 days and a month 30. Where low shares
 * medium's description (frequency, lead time) or leaves a gap (recovery
 * between a week and a month), anything slower than medium is low. Lead time
 * and time to restore are banded by their median.
 */
export function frequencyBand(perDay: number): Band {
  if (perDay >= 1) return 'elite';
  if (perDay >= 1 / 7) return 'high';
  if (perDay >= 1 / 30) return 'medium';
  return 'low';
}

/** The band of a (median) lead time for changes; see frequencyBand for the source. */
export function leadTimeBand(seconds: number): Band {
  if (seconds < DAY) return 'elite';
  if (seconds <= WEEK) return 'high';
  if (seconds <= MONTH) return 'medium';
  return 'low';
}

/** The band of a change failure rate in [0, 1]; see frequencyBand for the source. */
export function changeFailureRateBand(rate: number): Band {
  if (rate <= 0.05) return 'elite';
  if (rate <= 0.1) return 'high';
  if (rate <= 0.15) return 'medium';
  return 'low';
}

/** The band of a (median) time to restore; see frequencyBand for the source. */
export function timeToRestoreBand(seconds: number): Band {
  if (seconds < HOUR) return 'elite';
  if (seconds < DAY) return 'high';
  if (seconds <= WEEK) return 'medium';
  return 'low';
}

/** Computes the DORA keys over the releases that ended in the window (see the choices above). */
export function computeDora(releases: readonly Release[], window: DoraWindow): DoraMetrics {
  const since = window.since.getTime();
  const until = window.until.getTime();
  if (!(Number.isFinite(since) && Number.isFinite(until) && until > since)) {
    throw new RangeError('the window must end after it starts');
  }
  const finished = releases.filter((r) => FINISHED.includes(r.status) && Number.isFinite(Date.parse(r.endedAt)));
  const undone = new Set(finished.flatMap((r) => (r.rollbackOf ? [r.rollbackOf] : [])));
  const inWindow = finished
    .map((release) => ({ release, end: Date.parse(release.endedAt) }))
    .filter(({ end }) => end >= since && end < until)
    .sort((a, b) => a.end - b.end || a.release.deploymentId.localeCompare(b.release.deploymentId));

  const isChange = (r: Release) => r.rollbackOf === undefined && r.status !== 'ABORTED';
  const isFailedChange = (r: Release) => isChange(r) && (r.status === 'FAILED' || r.status === 'ROLLED_BACK' || undone.has(r.deploymentId));

  const byStatus: Record<FinishedStatus, number> = { SUCCEEDED: 0, FAILED: 0, ROLLED_BACK: 0, ABORTED: 0 };
  for (const { release } of inWindow) byStatus[release.status as FinishedStatus] += 1;

  const days = (until - since) / (DAY * 1000);
  const perDay = byStatus.SUCCEEDED / days;

  const leadTimes = inWindow.flatMap(({ release, end }) => {
    if (release.status !== 'SUCCEEDED' || !isChange(release) || release.commitTime === undefined) return [];
    const committed = Date.parse(release.commitTime);
    return Number.isFinite(committed) && committed <= end ? [(end - committed) / 1000] : [];
  });

  const changes = inWindow.filter(({ release }) => isChange(release));
  const failed = changes.filter(({ release }) => isFailedChange(release)).length;
  const changeFailureRate = changes.length > 0 ? failed / changes.length : null;

  const restores: number[] = [];
  let failingSince: number | undefined;
  for (const { release, end } of inWindow) {
    if (isFailedChange(release)) failingSince ??= end;
    else if (release.status === 'SUCCEEDED' && failingSince !== undefined) {
      restores.push((end - failingSince) / 1000);
      failingSince = undefined;
    }
  }

  const leadTime =
    leadTimes.length > 0 ? { medianSeconds: median(leadTimes), p90Seconds: nearestRank(leadTimes, 0.9), samples: leadTimes.length } : null;
  const timeToRestore = restores.length > 0 ? { medianSeconds: median(restores), samples: restores.length } : null;
  return {
    window: { since: window.since.toISOString(), until: window.until.toISOString(), days },
    deployments: inWindow.length,
    byStatus,
    deploymentFrequency: { successful: byStatus.SUCCEEDED, perDay, perWeek: perDay * 7 },
    leadTime,
    changes: { total: changes.length, failed },
    changeFailureRate,
    timeToRestore,
    bands: {
      deploymentFrequency: inWindow.length > 0 ? frequencyBand(perDay) : null,
      leadTime: leadTime ? leadTimeBand(leadTime.medianSeconds) : null,
      changeFailureRate: changeFailureRate === null ? null : changeFailureRateBand(changeFailureRate),
      timeToRestore: timeToRestore ? timeToRestoreBand(timeToRestore.medianSeconds) : null,
    },
  };
}

/** The middle value (the mean of the two middle ones for an even count) of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** The nearest-rank percentile (q in (0, 1]) of a non-empty list: the ceil(q n)-th smallest value. */
export function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

const DURATION = /^(\d{1,6})([hdw])$/;
const UNIT_SECONDS: Record<string, number> = { h: HOUR, d: DAY, w: WEEK };
const IsoDate = z.iso.date();
const IsoDateTime = z.iso.datetime({ offset: true });

/**
 * The start of a metrics window: a duration back from now (`12h`, `30d`,
 * `2w`), a date (`2026-03-01`, midnight UTC) or a date-time with Z or an
 * offset (`2026-03-01T09:30:00+01:00`). It must lie before now.
 */
export function parseSince(value: string, now: Date): Date {
  const text = value.trim();
  const duration = DURATION.exec(text);
  let since: Date;
  if (duration) {
    const count = Number(duration[1]);
    if (count === 0) throw new InvalidSince(`${value}: the window must be longer than 0`);
    since = new Date(now.getTime() - count * (UNIT_SECONDS[duration[2] ?? ''] ?? Number.NaN) * 1000);
  } else if (IsoDate.safeParse(text).success) {
    since = new Date(`${text}T00:00:00Z`);
  } else if (IsoDateTime.safeParse(text).success) {
    since = new Date(text);
  } else {
    throw new InvalidSince(
      `${value}: give a duration back from now (12h, 30d, 2w) or an ISO 8601 date or date-time (2026-03-01, 2026-03-01T09:30:00Z)`,
    );
  }
  if (since.getTime() >= now.getTime()) throw new InvalidSince(`${value}: the window must start before now (${now.toISOString()})`);
  return since;
}
