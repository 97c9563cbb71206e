import type { Clock } from '#ports';

/**
 * Local mode's time: the system clock plus an offset that only grows. A Wait
 * state until a timestamp moves it forward instead of sleeping, so that a
 * deployment waiting hours for its maintenance window goes on at once and
 * finds the window open, as it would at that hour. Never part of a Lambda
 * bundle: the handlers see only the Clock port.
 */
export class SimulatedClock implements Clock {
  private offsetMs: number;

  /** @param start the simulated time now. @default the system time */
  constructor(start?: Date) {
    this.offsetMs = start ? start.getTime() - Date.now() : 0;
  }

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Moves the clock forward to `at`; a time already past leaves it where it is. */
  advanceTo(at: Date): void {
    if (Number.isNaN(at.getTime())) throw new RangeError('cannot advance the clock to an invalid date');
    this.offsetMs = Math.max(this.offsetMs, at.getTime() - Date.now());
  }
}
