import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeFailureRateBand, computeDora, frequencyBand, leadTimeBand, parseSince, timeToRestoreBand } from '#core/dora.ts';
import { InvalidSince } from '#core/errors.ts';
import type { DeploymentStatus, Release } from '#core/records.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T00:00:00Z');
/** Thirty days from T0. */
const WINDOW = { since: new Date(T0), until: new Date(T0 + 30 * DAY) };

type Finished = Extract<DeploymentStatus, 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED'>;

/** A release that ended `minutes` after the window start. */
function release(minutes: number, status: Finished, extra: Partial<Release> = {}): Release {
  const end = T0 + minutes * MINUTE;
  return {
    app: 'web',
    environment: 'prod',
    deploymentId: `d-${minutes}`,
    version: '1.0.0',
    previousVersion: null,
    status,
    startedAt: new Date(end - 5 * MINUTE).toISOString(),
    endedAt: new Date(end).toISOString(),
    durationSeconds: 300,
    ...extra,
  };
}

/** A commit time `minutes` after the window start. */
const committed = (minutes: number) => new Date(T0 + minutes * MINUTE).toISOString();

describe('computeDora', () => {
  it('reports no deployments, no rates and no bands for an empty history', () => {
    const dora = computeDora([], WINDOW);

    expect(dora).toEqual({
      window: { since: '2026-03-01T00:00:00.000Z', until: '2026-03-31T00:00:00.000Z', days: 30 },
      deployments: 0,
      byStatus: { SUCCEEDED: 0, FAILED: 0, ROLLED_BACK: 0, ABORTED: 0 },
      deploymentFrequency: { successful: 0, perDay: 0, perWeek: 0 },
      leadTime: null,
      changes: { total: 0, failed: 0 },
      changeFailureRate: null,
      timeToRestore: null,
      bands: { deploymentFrequency: null, leadTime: null, changeFailureRate: null, timeToRestore: null },
    });
  });

  it('measures a single successful deployment: once a month, its lead time, no failure and nothing to restore', () => {
    const dora = computeDora([release(600, 'SUCCEEDED', { commitTime: committed(480) })], WINDOW);

    expect(dora.deployments).toBe(1);
    expect(dora.deploymentFrequency.perDay).toBeCloseTo(1 / 30, 12);
    expect(dora.deploymentFrequency.perWeek).toBeCloseTo(7 / 30, 12);
    expect(dora.leadTime).toEqual({ medianSeconds: 7200, p90Seconds: 7200, samples: 1 });
    expect(dora.changeFailureRate).toBe(0);
    expect(dora.timeToRestore).toBeNull();
    expect(dora.bands).toEqual({ deploymentFrequency: 'medium', leadTime: 'elite', changeFailureRate: 'elite', timeToRestore: null });
  });

  it('counts a single failed deployment as a failed change that is not restored yet', () => {
    const dora = computeDora([release(600, 'ROLLED_BACK', { commitTime: committed(480) })], WINDOW);

    expect(dora.deployments).toBe(1);
    expect(dora.deploymentFrequency).toEqual({ successful: 0, perDay: 0, perWeek: 0 });
    expect(dora.leadTime).toBeNull();
    expect(dora.changeFailureRate).toBe(1);
    expect(dora.timeToRestore).toBeNull();
    expect(dora.bands).toEqual({ deploymentFrequency: 'low', leadTime: null, changeFailureRate: 'low', timeToRestore: null });
  });

  it('gives a change failure rate of 1 and no lead time or restore when every deployment failed', () => {
    const dora = computeDora(
      [release(10, 'FAILED'), release(20, 'ROLLED_BACK', { commitTime: committed(0) }), release(30, 'FAILED')],
      WINDOW,
    );

    expect(dora.byStatus).toEqual({ SUCCEEDED: 0, FAILED: 2, ROLLED_BACK: 1, ABORTED: 0 });
    expect(dora.changes).toEqual({ total: 3, failed: 3 });
    expect(dora.changeFailureRate).toBe(1);
    expect(dora.leadTime).toBeNull();
    expect(dora.timeToRestore).toBeNull();
  });

  it('times each failure from its first failed change to the next success, whatever the order of the input', () => {
    const history = [
      release(0, 'SUCCEEDED'),
      release(60, 'FAILED'),
      release(90, 'ROLLED_BACK'),
      release(150, 'SUCCEEDED'),
      release(200, 'ROLLED_BACK'),
      release(260, 'SUCCEEDED'),
      release(300, 'FAILED'),
    ];

    const dora = computeDora([...history].reverse(), WINDOW);

    // 60 -> 150 and 200 -> 260; the failure at 300 is not restored yet.
    expect(dora.timeToRestore).toEqual({ medianSeconds: 75 * 60, samples: 2 });
    expect(dora.bands.timeToRestore).toBe('high');
    expect(dora.changes).toEqual({ total: 7, failed: 4 });
    expect(dora.changeFailureRate).toBeCloseTo(4 / 7, 12);
  });

  it('counts a change undone by a manual rollback as failed, restored by the rollback, which is not a change itself', () => {
    const change = release(10, 'SUCCEEDED', { deploymentId: 'change', commitTime: committed(0) });
    // A manual rollback copies the spec of the change it undoes, commit time included.
    const rollback = release(40, 'SUCCEEDED', { deploymentId: 'undo', rollbackOf: 'change', commitTime: committed(0) });

    const dora = computeDora([rollback, change], WINDOW);

    expect(dora.deployments).toBe(2);
    expect(dora.deploymentFrequency.successful).toBe(2);
    expect(dora.changes).toEqual({ total: 1, failed: 1 });
    expect(dora.changeFailureRate).toBe(1);
    expect(dora.timeToRestore).toEqual({ medianSeconds: 30 * 60, samples: 1 });
    expect(dora.leadTime).toEqual({ medianSeconds: 600, p90Seconds: 600, samples: 1 });
  });

  it('counts a change as failed when its manual rollback ended after the window, without a restore in the window', () => {
    const change = release(10, 'SUCCEEDED', { deploymentId: 'change' });
    const lateRollback = release(31 * 24 * 60, 'SUCCEEDED', { deploymentId: 'undo', rollbackOf: 'change' });

    const dora = computeDora([lateRollback, change], WINDOW);

    expect(dora.deployments).toBe(1);
    expect(dora.changeFailureRate).toBe(1);
    expect(dora.timeToRestore).toBeNull();
  });

  it('leaves aborted deployments out of the change failure rate, and they neither start nor end a failure', () => {
    const dora = computeDora(
      [release(10, 'SUCCEEDED'), release(20, 'FAILED'), release(30, 'ABORTED'), release(50, 'SUCCEEDED'), release(60, 'ABORTED')],
      WINDOW,
    );

    expect(dora.deployments).toBe(5);
    expect(dora.byStatus.ABORTED).toBe(2);
    expect(dora.changes).toEqual({ total: 3, failed: 1 });
    expect(dora.timeToRestore).toEqual({ medianSeconds: 30 * 60, samples: 1 });
  });

  it('has no change failure rate when the window holds only aborts and rollbacks', () => {
    const dora = computeDora([release(10, 'ABORTED'), release(20, 'SUCCEEDED', { rollbackOf: 'older' })], WINDOW);

    expect(dora.deployments).toBe(2);
    expect(dora.changeFailureRate).toBeNull();
    expect(dora.bands.changeFailureRate).toBeNull();
  });

  it('takes a release that ended at the window start and leaves out one that ended at its end or before its start', () => {
    const atStart = release(0, 'SUCCEEDED', { deploymentId: 'at-start' });
    const justBefore = { ...release(0, 'FAILED', { deploymentId: 'before' }), endedAt: new Date(T0 - 1).toISOString() };
    const atEnd = release(30 * 24 * 60, 'FAILED', { deploymentId: 'at-end' });
    const justInside = { ...release(0, 'SUCCEEDED', { deploymentId: 'inside' }), endedAt: new Date(T0 + 30 * DAY - 1).toISOString() };

    const dora = computeDora([atEnd, justInside, atStart, justBefore], WINDOW);

    expect(dora.deployments).toBe(2);
    expect(dora.byStatus).toEqual({ SUCCEEDED: 2, FAILED: 0, ROLLED_BACK: 0, ABORTED: 0 });
    expect(dora.changeFailureRate).toBe(0);
  });

  it('measures the lead time only on successful changes that carry a commit time not after their end', () => {
    const dora = computeDora(
      [
        release(60, 'SUCCEEDED'),
        release(120, 'SUCCEEDED', { commitTime: committed(60) }),
        release(180, 'SUCCEEDED', { commitTime: new Date(T0 + 150 * MINUTE).toISOString().replace('Z', '+00:00') }),
        release(240, 'FAILED', { commitTime: committed(0) }),
        release(300, 'SUCCEEDED', { commitTime: committed(400) }),
      ],
      WINDOW,
    );

    expect(dora.leadTime).toEqual({ medianSeconds: 45 * 60, p90Seconds: 60 * 60, samples: 2 });
    expect(dora.deploymentFrequency.successful).toBe(4);
  });

  it('has no lead time when no release carries a commit time, and still measures the rest', () => {
    const dora = computeDora([release(10, 'FAILED'), release(70, 'SUCCEEDED'), release(100, 'SUCCEEDED')], WINDOW);

    expect(dora.leadTime).toBeNull();
    expect(dora.bands.leadTime).toBeNull();
    expect(dora.changeFailureRate).toBeCloseTo(1 / 3, 12);
    expect(dora.timeToRestore).toEqual({ medianSeconds: 3600, samples: 1 });
    expect(dora.bands.timeToRestore).toBe('high');
  });

  it('reads the commit time with its offset', () => {
    const dora = computeDora([release(120, 'SUCCEEDED', { commitTime: '2026-03-01T01:00:00+01:00' })], WINDOW);

    expect(dora.leadTime?.medianSeconds).toBe(7200);
  });

  it('takes the median between the two middle samples and the 90th percentile by nearest rank', () => {
    const history = Array.from({ length: 10 }, (_, i) =>
      release(1000 + i, 'SUCCEEDED', { commitTime: committed(1000 + i - (i + 1) * 10) }),
    );

    const dora = computeDora(history, WINDOW);

    // Lead times of 10, 20, ... 100 minutes.
    expect(dora.leadTime).toEqual({ medianSeconds: 55 * 60, p90Seconds: 90 * 60, samples: 10 });
  });

  it('refuses a window that does not end after it starts', () => {
    expect(() => computeDora([], { since: WINDOW.until, until: WINDOW.since })).toThrow('the window must end after it starts');
    expect(() => computeDora([], { since: WINDOW.since, until: WINDOW.since })).toThrow(RangeError);
  });

  describe('on any history', () => {
    const statuses = fc.constantFrom<Finished>('SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED');
    const histories = fc
      .array(
        fc.record({
          // From two days before the window to two days after it.
          minutes: fc.integer({ min: -2 * 24 * 60, max: 32 * 24 * 60 }),
          status: statuses,
          commitBefore: fc.option(fc.integer({ min: -60, max: 3 * 24 * 60 }), { nil: undefined }),
          undoes: fc.option(fc.nat(), { nil: undefined }),
        }),
        { maxLength: 40 },
      )
      .map((drafts) =>
        drafts.map((d, i) =>
          release(d.minutes, d.status, {
            deploymentId: `d-${i}`,
            ...(d.commitBefore !== undefined ? { commitTime: committed(d.minutes - d.commitBefore) } : {}),
            ...(d.undoes !== undefined && drafts.length > 1 ? { rollbackOf: `d-${d.undoes % drafts.length}` } : {}),
          }),
        ),
      );

    it('keeps the change failure rate in [0, 1], and null exactly when there is no change', () => {
      fc.assert(
        fc.property(histories, (history) => {
          const dora = computeDora(history, WINDOW);
          if (dora.changes.total === 0) expect(dora.changeFailureRate).toBeNull();
          else {
            expect(dora.changeFailureRate).toBeGreaterThanOrEqual(0);
            expect(dora.changeFailureRate).toBeLessThanOrEqual(1);
          }
        }),
      );
    });

    it('keeps the counts consistent: statuses add up to the deployments, failures within changes, restores within failures', () => {
      fc.assert(
        fc.property(histories, (history) => {
          const dora = computeDora(history, WINDOW);
          expect(Object.values(dora.byStatus).reduce((a, b) => a + b, 0)).toBe(dora.deployments);
          expect(dora.changes.failed).toBeLessThanOrEqual(dora.changes.total);
          expect(dora.changes.total).toBeLessThanOrEqual(dora.deployments - dora.byStatus.ABORTED);
          expect(dora.leadTime?.samples ?? 0).toBeLessThanOrEqual(dora.byStatus.SUCCEEDED);
          expect(dora.timeToRestore?.samples ?? 0).toBeLessThanOrEqual(dora.changes.failed);
        }),
      );
    });

    it('never gives a negative duration, and the median lead time never exceeds its 90th percentile', () => {
      fc.assert(
        fc.property(histories, (history) => {
          const { leadTime, timeToRestore } = computeDora(history, WINDOW);
          if (leadTime) {
            expect(leadTime.medianSeconds).toBeGreaterThanOrEqual(0);
            expect(leadTime.medianSeconds).toBeLessThanOrEqual(leadTime.p90Seconds);
          }
          if (timeToRestore) expect(timeToRestore.medianSeconds).toBeGreaterThanOrEqual(0);
        }),
      );
    });

    it('does not depend on the order of the releases', () => {
      fc.assert(
        fc.property(
          histories.chain((h) => fc.tuple(fc.constant(h), fc.shuffledSubarray(h, { minLength: h.length, maxLength: h.length }))),
          ([history, shuffled]) => {
            expect(computeDora(shuffled, WINDOW)).toEqual(computeDora(history, WINDOW));
          },
        ),
      );
    });

    it('raises the frequency by one deployment over the window length for each successful deployment added', () => {
      fc.assert(
        fc.property(histories, fc.integer({ min: 1, max: 20 }), (history, added) => {
          const more = Array.from({ length: added }, (_, i) => release(7 * 24 * 60 + i, 'SUCCEEDED', { deploymentId: `added-${i}` }));
          const before = computeDora(history, WINDOW).deploymentFrequency;
          const after = computeDora([...history, ...more], WINDOW).deploymentFrequency;
          expect(after.successful).toBe(before.successful + added);
          expect(after.perDay).toBeCloseTo(before.perDay + added / 30, 9);
          expect(after.perWeek).toBeCloseTo(after.perDay * 7, 9);
        }),
      );
    });

    it('halves the frequency when the same deployments are spread over a window twice as long', () => {
      fc.assert(
        fc.property(histories, (history) => {
          const inside = history.filter((r) => Date.parse(r.endedAt) >= T0 && Date.parse(r.endedAt) < T0 + 30 * DAY);
          const longer = { since: new Date(T0 - 30 * DAY), until: WINDOW.until };
          expect(computeDora(inside, longer).deploymentFrequency.perDay).toBeCloseTo(
            computeDora(inside, WINDOW).deploymentFrequency.perDay / 2,
            12,
          );
        }),
      );
    });
  });
});

describe('DORA performance bands', () => {
  it.each([
    { perDay: 3, band: 'elite' },
    { perDay: 1, band: 'elite' },
    { perDay: 0.99, band: 'high' },
    { perDay: 1 / 7, band: 'high' },
    { perDay: 1 / 8, band: 'medium' },
    { perDay: 1 / 30, band: 'medium' },
    { perDay: 1 / 31, band: 'low' },
    { perDay: 0, band: 'low' },
  ])('puts a deployment frequency of $perDay a day in the $band band', ({ perDay, band }) => {
    expect(frequencyBand(perDay)).toBe(band);
  });

  it.each([
    { seconds: 3600, band: 'elite' },
    { seconds: 86_399, band: 'elite' },
    { seconds: 86_400, band: 'high' },
    { seconds: 7 * 86_400, band: 'high' },
    { seconds: 7 * 86_400 + 1, band: 'medium' },
    { seconds: 30 * 86_400, band: 'medium' },
    { seconds: 30 * 86_400 + 1, band: 'low' },
  ])('puts a lead time of $seconds seconds in the $band band', ({ seconds, band }) => {
    expect(leadTimeBand(seconds)).toBe(band);
  });

  it.each([
    { rate: 0, band: 'elite' },
    { rate: 0.05, band: 'elite' },
    { rate: 0.06, band: 'high' },
    { rate: 0.1, band: 'high' },
    { rate: 0.15, band: 'medium' },
    { rate: 0.16, band: 'low' },
    { rate: 1, band: 'low' },
  ])('puts a change failure rate of $rate in the $band band', ({ rate, band }) => {
    expect(changeFailureRateBand(rate)).toBe(band);
  });

  it.each([
    { seconds: 59 * 60, band: 'elite' },
    { seconds: 3600, band: 'high' },
    { seconds: 86_399, band: 'high' },
    { seconds: 86_400, band: 'medium' },
    { seconds: 7 * 86_400, band: 'medium' },
    { seconds: 7 * 86_400 + 1, band: 'low' },
  ])('puts a time to restore of $seconds seconds in the $band band', ({ seconds, band }) => {
    expect(timeToRestoreBand(seconds)).toBe(band);
  });
});

describe('parseSince', () => {
  const NOW = new Date('2026-03-31T12:00:00Z');

  it.each([
    { value: '12h', since: '2026-03-31T00:00:00.000Z' },
    { value: '30d', since: '2026-03-01T12:00:00.000Z' },
    { value: '2w', since: '2026-03-17T12:00:00.000Z' },
    { value: '2026-03-01', since: '2026-03-01T00:00:00.000Z' },
    { value: '2026-03-01T09:30:00+01:00', since: '2026-03-01T08:30:00.000Z' },
    { value: '2026-03-01T09:30:00Z', since: '2026-03-01T09:30:00.000Z' },
  ])('reads $value as $since', ({ value, since }) => {
    expect(parseSince(value, NOW).toISOString()).toBe(since);
  });

  it.each([
    { value: '30', reason: 'give a duration back from now (12h, 30d, 2w) or an ISO 8601 date' },
    { value: '30x', reason: 'give a duration back from now' },
    { value: 'd30', reason: 'give a duration back from now' },
    { value: '', reason: 'give a duration back from now' },
    { value: '2026-02-30', reason: 'give a duration back from now' },
    { value: '2026-03-01T09:30:00', reason: 'give a duration back from now' },
    { value: '0d', reason: 'the window must be longer than 0' },
    { value: '2026-04-01', reason: 'the window must start before now (2026-03-31T12:00:00.000Z)' },
    { value: '10000000d', reason: 'give a duration back from now' },
  ])('refuses "$value" saying: $reason', ({ value, reason }) => {
    expect(() => parseSince(value, NOW)).toThrow(InvalidSince);
    expect(() => parseSince(value, NOW)).toThrow(reason);
  });
});
