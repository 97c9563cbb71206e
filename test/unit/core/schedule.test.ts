import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { UnsupportedCron } from '#core/errors.ts';
import { toSchedulerCron } from '#core/schedule.ts';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The days of the week (EventBridge names) on which a five-field cron fires, as croner (the spec's cron engine) reads it. */
function firingDays(cron: string): string[] {
  const job = new Cron(cron, { paused: true, timezone: 'UTC' });
  const days = new Set<number>();
  let at = new Date('2026-01-01T00:00:00Z');
  for (let i = 0; i < 60; i++) {
    const next = job.nextRun(at);
    if (!next) break;
    days.add(next.getUTCDay());
    at = next;
  }
  return [...days].sort((a, b) => a - b).map((d) => DAY_NAMES[d] as string);
}

/** The days an EventBridge day-of-week field of names, lists and ranges stands for. */
function namedDays(field: string): string[] {
  return field.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-');
    return DAY_NAMES.slice(DAY_NAMES.indexOf(from as string), DAY_NAMES.indexOf(to as string) + 1);
  });
}

describe('toSchedulerCron', () => {
  it('adds the year and puts ? in the day-of-week when no day is restricted', () => {
    expect(toSchedulerCron('0 2 * * *')).toBe('cron(0 2 * * ? *)');
    expect(toSchedulerCron('0 2 ? * ?')).toBe('cron(0 2 * * ? *)');
  });

  it('puts ? in the day-of-week when the day of month is restricted', () => {
    expect(toSchedulerCron('0 3 15 * *')).toBe('cron(0 3 15 * ? *)');
    expect(toSchedulerCron('0 3 1,15 * *')).toBe('cron(0 3 1,15 * ? *)');
  });

  it('puts ? in the day-of-month when the day of week is restricted, and names the days', () => {
    expect(toSchedulerCron('30 1 * * 1-5')).toBe('cron(30 1 ? * MON-FRI *)');
    expect(toSchedulerCron('0 2 * * sun,sat')).toBe('cron(0 2 ? * SUN,SAT *)');
  });

  it('reads Sunday as both 0 and 7, as five-field cron does', () => {
    expect(toSchedulerCron('0 22 * * 0')).toBe('cron(0 22 ? * SUN *)');
    expect(toSchedulerCron('0 22 * * 7')).toBe('cron(0 22 ? * SUN *)');
    expect(toSchedulerCron('0 22 * * 5-7')).toBe('cron(0 22 ? * SUN,FRI,SAT *)');
  });

  it('lists the days of a stepped day-of-week, as EventBridge takes no step there', () => {
    expect(toSchedulerCron('0 2 * * */2')).toBe('cron(0 2 ? * SUN,TUE,THU,SAT *)');
    expect(toSchedulerCron('0 2 * * 1-5/2')).toBe('cron(0 2 ? * MON,WED,FRI *)');
  });

  it('fires on the same days of the week as the spec reads the five-field cron', () => {
    for (const cron of ['0 2 * * 1-5', '0 2 * * 0', '0 2 * * 7', '0 2 * * 5-7', '0 2 * * */3', '0 2 * * MON,WED-FRI', '0 2 * * 0,1,2,4']) {
      const field = /^cron\(\S+ \S+ \? \S+ (\S+) \*\)$/.exec(toSchedulerCron(cron))?.[1] ?? '';
      expect({ cron, days: namedDays(field).sort() }).toEqual({ cron, days: firingDays(cron).sort() });
    }
  });

  it('numbers the day of an nth or last weekday from 1 for Sunday, as EventBridge does', () => {
    expect(toSchedulerCron('0 3 * * 5#2')).toBe('cron(0 3 ? * 6#2 *)');
    expect(toSchedulerCron('0 3 * * FRI#2')).toBe('cron(0 3 ? * 6#2 *)');
    expect(toSchedulerCron('0 3 * * 0L')).toBe('cron(0 3 ? * 1L *)');
  });

  it('keeps the last day and the nearest weekday of the month', () => {
    expect(toSchedulerCron('0 3 L * *')).toBe('cron(0 3 L * ? *)');
    expect(toSchedulerCron('0 3 LW * *')).toBe('cron(0 3 LW * ? *)');
    expect(toSchedulerCron('0 3 15W * *')).toBe('cron(0 3 15W * ? *)');
  });

  it('starts a step over * at the first value of its field', () => {
    expect(toSchedulerCron('*/15 */4 * * *')).toBe('cron(0/15 0/4 * * ? *)');
    expect(toSchedulerCron('0 0 */10 */3 *')).toBe('cron(0 0 1/10 1/3 ? *)');
  });

  it('lists the values of a stepped range', () => {
    expect(toSchedulerCron('10-50/20 10-20/3 * * *')).toBe('cron(10,30,50 10,13,16,19 * * ? *)');
  });

  it('numbers the months and keeps ranges and lists', () => {
    expect(toSchedulerCron('0 2 1 jan-mar *')).toBe('cron(0 2 1 1-3 ? *)');
    expect(toSchedulerCron('0 8-17 * 1,6,12 *')).toBe('cron(0 8-17 * 1,6,12 ? *)');
  });

  it('expands macros', () => {
    expect(toSchedulerCron('@daily')).toBe('cron(0 0 * * ? *)');
    expect(toSchedulerCron('@weekly')).toBe('cron(0 0 ? * SUN *)');
    expect(toSchedulerCron('@monthly')).toBe('cron(0 0 1 * ? *)');
  });

  describe('refuses what Scheduler cannot express, saying why', () => {
    const refusal = (cron: string) => {
      try {
        toSchedulerCron(cron);
      } catch (error) {
        return error;
      }
      throw new Error(`${cron} was accepted`);
    };

    it('a day of month and a day of week together', () => {
      const error = refusal('0 2 1 * 1');
      expect(error).toBeInstanceOf(UnsupportedCron);
      expect((error as UnsupportedCron).message).toBe(
        'cron "0 2 1 * 1": a day-of-month and a day-of-week together (cron runs on either day) cannot be expressed by EventBridge Scheduler: give * for one of them, or use two windows',
      );
    });

    it('a count of fields other than five', () => {
      expect(refusal('0 0 0 2 * *')).toEqual(
        new UnsupportedCron('0 0 0 2 * *', 'give five fields (minute hour day-of-month month day-of-week), not 6'),
      );
      expect((refusal('0 2 * *') as Error).message).toContain('not 4');
    });

    it('values out of their range', () => {
      expect((refusal('0 25 * * *') as Error).message).toBe('cron "0 25 * * *": hour: 25 is not a value from 0 to 23');
      expect((refusal('60 1 * * *') as Error).message).toContain('minute: 60 is not a value from 0 to 59');
      expect((refusal('0 1 32 * *') as Error).message).toContain('day-of-month: 32');
      expect((refusal('0 1 * 13 *') as Error).message).toContain('month: 13');
      expect((refusal('0 1 * * 8') as Error).message).toContain('day-of-week: 8');
    });

    it('backward ranges and steps without a range', () => {
      expect((refusal('0 2 * * 5-1') as Error).message).toContain('day-of-week: the range 5-1 runs backwards');
      expect((refusal('5/15 * * * *') as Error).message).toContain('minute: "5/15": a step needs * or a range before it');
      expect((refusal('*/0 * * * *') as Error).message).toContain('minute: step 0 must be from 1 to 59');
    });

    it('L and W combined with other values, and L without a day in the day-of-week', () => {
      expect((refusal('0 2 L-2 * *') as Error).message).toContain('day-of-month: "L-2": L and W stand alone');
      expect((refusal('0 2 1,15W * *') as Error).message).toContain('day-of-month: "1,15W": L and W stand alone');
      expect((refusal('0 2 * * L') as Error).message).toContain('day-of-week: L needs a day before it');
      expect((refusal('0 2 * * 1,5L') as Error).message).toContain('day-of-week: "1,5L": # and L stand alone');
      expect((refusal('0 2 * * 5#6') as Error).message).toContain('the occurrence after # must be from 1 to 5');
    });

    it('characters that are no cron syntax', () => {
      expect((refusal('0 2 * * MON|FRI') as Error).message).toContain('day-of-week: "MON|FRI" is not a value, a range, * or a step');
      expect((refusal('0 ? * * *') as Error).message).toContain('hour: "?" is not a value');
    });
  });
});
