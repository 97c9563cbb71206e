import { PlanRefused } from './errors.ts';
import type { CountOrPercent, DeploymentSpec, Strategy } from './spec.ts';

/** Resolves a count or a percentage of `total` hosts to a whole number of hosts. */
export function resolveCount(value: CountOrPercent, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const exact = (Number.parseFloat(value) / 100) * total;
  // Guard against float noise such as 0.1 * 30 = 3.0000000000000004.
  const fixed = Math.round(exact * 1e9) / 1e9;
  return round === 'up' ? Math.ceil(fixed) : Math.floor(fixed);
}

export type BlueGreenStrategy = Extract<Strategy, { type: 'blueGreen' }>;
/** Strategies that take hosts out of service wave by wave, so minHealthy limits their waves. */
type WaveStrategy = Exclude<Strategy, BlueGreenStrategy>;

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

/**
 * Splits hosts into waves at increasing cumulative percentages of the fleet
 * (canary stages, linear steps). A stage ends after ceil(stage% of the fleet)
 * hosts, and the first stage after at least 1; a stage that would add no host
 * is skipped, so no wave is empty. The last stage must be 100: a plan that
 * would leave hosts out is refused rather than shortened.
 */
export function planStages(hosts: readonly string[], stages: Iterable<number>): string[][] {
  const waves: string[][] = [];
  let done = 0;
  for (const stage of stages) {
    const upTo = Math.min(hosts.length, Math.max(1, resolveCount(`${stage}%`, hosts.length, 'up')));
    if (upTo > done) {
      waves.push(hosts.slice(done, upTo));
      done = upTo;
    }
  }
  if (done < hosts.length)
    throw new PlanRefused(`the stages end before 100%, leaving ${hostsCount(hosts.length - done)} out; end them at 100`);
  return waves;
}

/** The cumulative percentages n, 2n, 3n, ... of a linear strategy, capped at 100 (the last is always 100). */
function* linearStages(stepPercent: number): Generator<number> {
  for (let step = 1; ; step++) {
    // Rounded so that 3 * 0.1 is 0.3 and 1000 * 0.1 reaches 100.
    const stage = Math.min(100, Math.round(step * stepPercent * 1e9) / 1e9);
    yield stage;
    if (stage >= 100) return;
  }
}

/** Linear waves: equal steps of stepPercent of the fleet, built as canary stages are. */
function planLinear(hosts: readonly string[], stepPercent: number): string[][] {
  // A step of at most one host adds 0 or 1 host per stage, so every host is its own
  // wave; answering directly keeps a tiny stepPercent from walking millions of stages.
  if (stepPercent * hosts.length <= 100) return planRolling(hosts, 1);
  return planStages(hosts, linearStages(stepPercent));
}

function wavesFor(strategy: WaveStrategy, hosts: readonly string[]): string[][] {
  switch (strategy.type) {
    case 'allAtOnce':
      return [[...hosts]];
    case 'rolling':
      return planRolling(hosts, strategy.batchSize);
    case 'canary':
      return planStages(hosts, strategy.stages);
    case 'linear':
      return planLinear(hosts, strategy.stepPercent);
  }
}

/** What to change when a strategy's largest wave takes more hosts out than minHealthy allows. */
const SMALLER_WAVES: Readonly<Record<WaveStrategy['type'], string>> = {
  allAtOnce: 'use a rolling, canary or linear strategy, or lower minHealthy',
  rolling: 'use smaller batches or lower minHealthy',
  canary: 'use more stages, closer together, or lower minHealthy',
  linear: 'use a smaller stepPercent or lower minHealthy',
};

/**
 * The wave plan for a spec's strategy, over the hosts sorted so that a retried
 * plan is the same plan. For blueGreen, `hosts` is the green fleet: it takes no
 * traffic, so all of it is one wave and minHealthy does not limit it. Every
 * other strategy is refused when its largest wave would take more hosts out of
 * service than minHealthy allows.
 */
export function planWaves(spec: DeploymentSpec, hosts: readonly string[]): string[][] {
  const { strategy } = spec;
  if (hosts.length === 0) {
    throw new PlanRefused(strategy.type === 'blueGreen' ? 'the green targets match no hosts' : 'the targets match no hosts');
  }
  const sorted = [...hosts].sort();
  if (strategy.type === 'blueGreen') return [sorted];
  const waves = wavesFor(strategy, sorted);
  const largest = waves.reduce((max, wave) => Math.max(max, wave.length), 0);
  const budget = outOfServiceBudget(sorted.length, strategy.minHealthy);
  if (largest > budget) {
    const article = strategy.type === 'allAtOnce' ? 'an' : 'a';
    throw new PlanRefused(
      `${article} ${strategy.type} wave of ${hostsCount(largest)} would leave fewer than minHealthy (${String(strategy.minHealthy)}) of ${hostsCount(sorted.length)} in service; ${SMALLER_WAVES[strategy.type]}`,
    );
  }
  return waves;
}

function hostsCount(count: number): string {
  return count === 1 ? '1 host' : `${count} hosts`;
}

/** The green traffic weights of a blue-green shift, in order: increasing whole percentages ending at 100. */
export function trafficPlan(strategy: BlueGreenStrategy): number[] {
  return [...strategy.trafficSteps];
}

/** The wait after each wave, before the alarm gate: the gate's bake or the strategy's own pause, whichever is longer. */
export function bakeSecondsFor(spec: DeploymentSpec): number {
  return Math.max(spec.gates.bakeSeconds, strategyBakeSeconds(spec.strategy));
}

function strategyBakeSeconds(strategy: Strategy): number {
  switch (strategy.type) {
    case 'rolling':
      return strategy.pauseSeconds;
    case 'canary':
      return strategy.bakeSeconds;
    case 'linear':
      return strategy.intervalSeconds;
    default:
      return 0;
  }
}

/** How many hosts may be out of service at once under minHealthy. */
export function outOfServiceBudget(total: number, minHealthy: CountOrPercent | undefined): number {
  if (minHealthy === undefined) return total;
  return Math.max(0, total - resolveCount(minHealthy, total, 'up'));
}
