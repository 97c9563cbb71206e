import type { CountOrPercent, DeploymentSpec } from './spec.ts';

/** Resolves a count or a percentage of `total` hosts to a whole number of hosts. */
export function resolveCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const exact = (Number.parseFloat(value) / 100) * total;
  // Guard against float noise such as 0.1 * 30 = 3.0000000000000004.
  const fixed = Math.round(exact * 1e9) / 1e9;
  return round === 'up' ? Math.ceil(fixed) : Math.floor(fixed);
}

export class PlanRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PlanRefused';
  }
}

/**
 * Splits hosts into rolling batches. A size may be a count or a share of the
 * whole fleet; a list of sizes is taken in order and its last size repeats.
 * Every host lands in exactly one wave, in the given order, and no wave is empty.
 */
export function planRolling(hosts: readonly string[], batchSize: CountOrPercent | readonly CountOrPercent[]): string[][] {
  const sizes = Array.isArray(batchSize) ? batchSize : [batchSize as CountOrPercent];
  const waves: string[][] = [];
  let next = 0;
  while (next < hosts.length) {
    const size = sizes[Math.min(waves.length, sizes.length - 1)] as CountOrPercent;
    const count = Math.max(1, resolveCount(size, hosts.length, 'up'));
    waves.push(hosts.slice(next, next + count));
    next += count;
  }
  return waves;
}

/** The wave plan for a spec's strategy (rolling and all-at-once run today). */
export function planWaves(spec: DeploymentSpec, hosts: readonly string[]): string[][] {
  if (hosts.length === 0) throw new PlanRefused('the targets match no hosts');
  const sorted = [...hosts].sort();
  const { strategy } = spec;
  let waves: string[][];
  switch (strategy.type) {
    case 'allAtOnce':
      waves = [sorted];
      break;
    case 'rolling':
      waves = planRolling(sorted, strategy.batchSize);
      break;
    default:
      throw new PlanRefused(`the ${strategy.type} strategy is not available yet; use rolling or allAtOnce`);
  }
  const largest = Math.max(...waves.map((w) => w.length));
  const budget = outOfServiceBudget(sorted.length, strategy.minHealthy);
  if (largest > budget) {
    throw new PlanRefused(
      `a wave of ${largest} hosts would leave fewer than minHealthy (${String(strategy.minHealthy)}) of ${sorted.length} hosts in service; use smaller batches or lower minHealthy`,
    );
  }
  return waves;
}

/** How many hosts may be out of service at once under minHealthy. */
export function outOfServiceBudget(total: number, minHealthy: CountOrPercent | undefined): number {
  if (minHealthy === undefined) return total;
  return Math.max(0, total - resolveCount(minHealthy, total, 'up'));
}
