import { type Clock, systemClock } from '#ports';

/** The `clock` port: the system's time. */
export const clock: Clock = systemClock;
