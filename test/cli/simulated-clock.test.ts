import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from '#cli/local/clock.ts';

describe('SimulatedClock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), toFake: ['Date'] });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells the system time when it is given no start', () => {
    expect(new SimulatedClock().now()).toEqual(new Date('2026-01-01T00:00:00Z'));
  });

  it('starts at the time it is given and runs on with the system clock', () => {
    const clock = new SimulatedClock(new Date('2030-06-01T12:00:00Z'));
    vi.advanceTimersByTime(1500);

    expect(clock.now()).toEqual(new Date('2030-06-01T12:00:01.500Z'));
  });

  it('skips ahead to a later time and runs on from there', () => {
    const clock = new SimulatedClock();
    clock.advanceTo(new Date('2026-01-01T06:00:00Z'));
    vi.advanceTimersByTime(250);

    expect(clock.now()).toEqual(new Date('2026-01-01T06:00:00.250Z'));
  });

  it('never goes back when told to advance to a time already past', () => {
    const clock = new SimulatedClock(new Date('2026-01-01T06:00:00Z'));
    clock.advanceTo(new Date('2026-01-01T01:00:00Z'));

    expect(clock.now()).toEqual(new Date('2026-01-01T06:00:00Z'));
  });

  it('refuses to advance to an invalid date', () => {
    expect(() => new SimulatedClock().advanceTo(new Date('not a date'))).toThrow(RangeError);
  });
});
