import { describe, expect, it } from 'vitest';
import { InvalidWindow } from '#core/errors.ts';
import type { Window } from '#core/spec.ts';
import { checkWindow, decideWindow, waitTimestamp } from '#core/window.ts';

function windowOf(overrides: Partial<Window> = {}): Window {
  return { cron: '0 2 * * 6', durationMinutes: 120, timezone: 'Europe/Berlin', blackoutDates: [], outside: 'refuse', ...overrides };
}

/** Saturday 02:00 to 04:00 Berlin time. */
const saturdayNight = windowOf();
/** Every night 02:30 to 03:30 Berlin time: 02:30 does not exist on the spring-forward day and happens twice in autumn. */
const nightly = windowOf({ cron: '30 2 * * *', durationMinutes: 60 });

describe('checkWindow', () => {
  describe('in winter (CET, UTC+1)', () => {
    it('is open at 02:30 Berlin time on a Saturday', () => {
      const check = checkWindow(saturdayNight, new Date('2026-01-03T01:30:00Z'));

      expect(check).toEqual({
        open: true,
        reason: 'window opened 2026-01-03T01:00:00.000Z and closes 2026-01-03T03:00:00.000Z',
      });
    });

    it('is open at the very minute it opens', () => {
      expect(checkWindow(saturdayNight, new Date('2026-01-03T01:00:00Z')).open).toBe(true);
    });

    it('is closed one second before it opens and names the opening', () => {
      const check = checkWindow(saturdayNight, new Date('2026-01-03T00:59:59Z'));

      expect(check.open).toBe(false);
      expect(check.nextOpening).toEqual(new Date('2026-01-03T01:00:00Z'));
    });

    it('is still open one second before it closes', () => {
      expect(checkWindow(saturdayNight, new Date('2026-01-03T02:59:59Z')).open).toBe(true);
    });

    it('is closed at 05:00 Berlin time and next opens the following Saturday', () => {
      const check = checkWindow(saturdayNight, new Date('2026-01-03T04:00:00Z'));

      expect(check).toEqual({
        open: false,
        reason: 'outside the maintenance window (0 2 * * 6 Europe/Berlin, 120 min); next opening 2026-01-10T01:00:00.000Z',
        nextOpening: new Date('2026-01-10T01:00:00Z'),
      });
    });

    it('is closed at 02:30 on a weekday', () => {
      expect(checkWindow(saturdayNight, new Date('2026-01-07T01:30:00Z')).open).toBe(false);
    });
  });

  describe('in summer (CEST, UTC+2)', () => {
    it('is open at 02:30 Berlin time on a Saturday, an hour earlier in UTC than in winter', () => {
      const check = checkWindow(saturdayNight, new Date('2026-07-04T00:30:00Z'));

      expect(check).toEqual({
        open: true,
        reason: 'window opened 2026-07-04T00:00:00.000Z and closes 2026-07-04T02:00:00.000Z',
      });
    });

    it('is closed at 05:00 Berlin time although 03:00 UTC would be inside the winter window', () => {
      const check = checkWindow(saturdayNight, new Date('2026-07-04T03:00:00Z'));

      expect(check.open).toBe(false);
      expect(check.nextOpening).toEqual(new Date('2026-07-11T00:00:00Z'));
    });

    it('is still open at 03:30 Berlin time, which is 01:30 UTC in summer', () => {
      expect(checkWindow(saturdayNight, new Date('2026-07-04T01:30:00Z')).open).toBe(true);
    });
  });

  describe('across daylight saving changes', () => {
    it('names the opening after the spring change in summer time', () => {
      // Saturday 2026-03-28 is the last Saturday in winter time; the next one is in summer time.
      const check = checkWindow(saturdayNight, new Date('2026-03-28T04:00:00Z'));

      expect(check.nextOpening).toEqual(new Date('2026-04-04T00:00:00Z'));
    });

    it('names the opening after the autumn change in winter time', () => {
      // Saturday 2026-10-24 is the last Saturday in summer time; the next one is in winter time.
      const check = checkWindow(saturdayNight, new Date('2026-10-24T03:00:00Z'));

      expect(check.nextOpening).toEqual(new Date('2026-10-31T01:00:00Z'));
    });

    it('still opens once on the spring-forward night when 02:30 does not exist locally', () => {
      expect(checkWindow(nightly, new Date('2026-03-29T00:45:00Z')).open).toBe(false);
      expect(checkWindow(nightly, new Date('2026-03-29T01:15:00Z')).open).toBe(true);
    });

    it('opens only once on the fall-back night when 02:30 happens twice locally', () => {
      // 00:30 UTC is the first 02:30 (CEST); 01:30 UTC is the second 02:30 (CET).
      expect(checkWindow(nightly, new Date('2026-10-25T00:45:00Z')).open).toBe(true);
      const second = checkWindow(nightly, new Date('2026-10-25T01:45:00Z'));
      expect(second.open).toBe(false);
      expect(second.nextOpening).toEqual(new Date('2026-10-26T01:30:00Z'));
    });
  });

  describe('with blackout dates', () => {
    it('is closed on a blackout date during the window and next opens on the first date that is not blacked out', () => {
      const check = checkWindow(windowOf({ blackoutDates: ['2026-01-03', '2026-01-10'] }), new Date('2026-01-03T01:30:00Z'));

      expect(check).toEqual({
        open: false,
        reason: '2026-01-03 is a blackout date',
        nextOpening: new Date('2026-01-17T01:00:00Z'),
      });
    });

    it('reads blackout dates in the window time zone', () => {
      // 23:30 UTC on Friday 2026-01-02 is already Saturday 2026-01-03 in Berlin.
      const window = windowOf({ cron: '0 0 * * 6', blackoutDates: ['2026-01-03'] });

      expect(checkWindow(window, new Date('2026-01-02T23:30:00Z'))).toMatchObject({ open: false, reason: '2026-01-03 is a blackout date' });
    });

    it('stays closed after midnight when the window opened on a blackout date', () => {
      // Opens Saturday 23:00 Berlin for three hours; Saturday 2026-01-03 is blacked out, Sunday is not.
      const window = windowOf({ cron: '0 23 * * 6', durationMinutes: 180, blackoutDates: ['2026-01-03'] });

      const check = checkWindow(window, new Date('2026-01-04T00:30:00Z'));

      expect(check).toEqual({
        open: false,
        reason: 'the window opened on 2026-01-03, a blackout date',
        nextOpening: new Date('2026-01-10T22:00:00Z'),
      });
      expect(checkWindow(window, new Date('2026-01-11T00:30:00Z')).open).toBe(true);
    });

    it('skips blacked-out openings when naming the next opening from outside the window', () => {
      const check = checkWindow(windowOf({ blackoutDates: ['2026-01-10'] }), new Date('2026-01-05T12:00:00Z'));

      expect(check.open).toBe(false);
      expect(check.nextOpening).toEqual(new Date('2026-01-17T01:00:00Z'));
    });
  });

  it('reads the cron in UTC by default', () => {
    const utc = windowOf({ timezone: 'UTC' });

    expect(checkWindow(utc, new Date('2026-01-03T02:30:00Z')).open).toBe(true);
    expect(checkWindow(utc, new Date('2026-01-03T01:30:00Z')).open).toBe(false);
  });

  it('refuses a cron expression it cannot read with InvalidWindow', () => {
    expect(() => checkWindow(windowOf({ cron: 'not a cron' }), new Date('2026-01-03T01:30:00Z'))).toThrow(InvalidWindow);
    expect(() => checkWindow(windowOf({ cron: 'not a cron' }), new Date('2026-01-03T01:30:00Z'))).toThrow(
      /^window\.cron "not a cron" in Europe\/Berlin is not valid/,
    );
  });

  it('refuses to judge a window in an unknown time zone', () => {
    expect(() => checkWindow(windowOf({ timezone: 'Mars/Olympus' }), new Date('2026-01-03T01:30:00Z'))).toThrow();
  });
});

describe('decideWindow', () => {
  /** Thursday 2026-01-01 00:00 UTC, with up to a day to wait. */
  const now = new Date('2026-01-01T00:00:00Z');
  const tomorrow = new Date('2026-01-02T00:00:00Z');
  /** Every night 06:00 to 07:00 UTC. */
  const dawn = windowOf({ cron: '0 6 * * *', durationMinutes: 60, timezone: 'UTC' });

  it('goes on inside the window whatever the policy says', () => {
    for (const outside of ['refuse', 'wait'] as const) {
      expect(decideWindow({ ...dawn, outside }, new Date('2026-01-01T06:30:00Z'), tomorrow)).toEqual({
        action: 'go',
        reason: 'window opened 2026-01-01T06:00:00.000Z and closes 2026-01-01T07:00:00.000Z',
      });
    }
  });

  it('refuses outside the window by default, with the reason the window check gives', () => {
    expect(decideWindow(dawn, now, tomorrow)).toEqual({ action: 'refuse', reason: checkWindow(dawn, now).reason });
  });

  it('waits until the next opening when the policy is wait', () => {
    expect(decideWindow({ ...dawn, outside: 'wait' }, now, tomorrow)).toEqual({
      action: 'wait',
      until: new Date('2026-01-01T06:00:00Z'),
      reason: 'outside the maintenance window (0 6 * * * UTC, 60 min); next opening 2026-01-01T06:00:00.000Z',
    });
  });

  it('waits past blackout dates to the first opening that is not blacked out', () => {
    const window = windowOf({ ...dawn, outside: 'wait', blackoutDates: ['2026-01-01'] });

    expect(decideWindow(window, now, new Date('2026-01-02T12:00:00Z'))).toMatchObject({
      action: 'wait',
      until: new Date('2026-01-02T06:00:00Z'),
      reason: '2026-01-01 is a blackout date',
    });
  });

  it('may wait for an opening at the very latest moment allowed', () => {
    const latest = new Date('2026-01-01T06:00:00Z');

    expect(decideWindow({ ...dawn, outside: 'wait' }, now, latest)).toMatchObject({ action: 'wait', until: latest });
  });

  it('refuses to wait for an opening later than the deployment may wait, naming both times', () => {
    const decision = decideWindow({ ...saturdayNight, outside: 'wait' }, now, tomorrow);

    expect(decision).toEqual({
      action: 'refuse',
      reason:
        'outside the maintenance window (0 2 * * 6 Europe/Berlin, 120 min); next opening 2026-01-03T01:00:00.000Z; ' +
        'that is later than this deployment may wait (until 2026-01-02T00:00:00.000Z)',
    });
  });

  it('names the next opening when it refuses to wait through a blackout date', () => {
    const window = windowOf({ outside: 'wait', blackoutDates: ['2026-01-03'] });

    expect(decideWindow(window, new Date('2026-01-03T01:30:00Z'), new Date('2026-01-04T01:30:00Z'))).toEqual({
      action: 'refuse',
      reason:
        '2026-01-03 is a blackout date; the next opening, 2026-01-10T01:00:00.000Z, is later than this deployment may wait (until 2026-01-04T01:30:00.000Z)',
    });
  });

  it('refuses to wait for a window that has no opening ahead', () => {
    // 30 February never comes.
    const never = windowOf({ cron: '0 0 30 2 *', timezone: 'UTC', outside: 'wait' });

    expect(decideWindow(never, now, tomorrow)).toEqual({
      action: 'refuse',
      reason: 'outside the maintenance window (0 0 30 2 * UTC, 120 min); the window has no opening ahead, so there is nothing to wait for',
    });
  });
});

describe('waitTimestamp', () => {
  it('writes a time in UTC to the second, as a Wait state reads it', () => {
    expect(waitTimestamp(new Date('2026-01-03T01:00:00Z'))).toBe('2026-01-03T01:00:00Z');
  });

  it('rounds a time between two seconds up, so that the wait never ends before it', () => {
    expect(waitTimestamp(new Date('2026-01-03T00:59:59.001Z'))).toBe('2026-01-03T01:00:00Z');
  });
});
