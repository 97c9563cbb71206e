import type { Ports } from '#ports';

/**
 * Every port the fan-out's use cases use between them: the control region's
 * records, its bus, the task tokens of the region waits and the clock. Each
 * use case takes only its own `Pick`; whoever wires them all at once (the
 * local region bus) gives this.
 */
export type FanOutPorts = Pick<Ports, 'deployments' | 'audit' | 'regions' | 'events' | 'callbacks' | 'clock'>;
