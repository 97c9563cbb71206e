import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanRefused } from '#core/errors.ts';
import {
  type BlueGreenStrategy,
  bakeSecondsFor,
  outOfServiceBudget,
  planRolling,
  planStages,
  planWaves,
  resolveCount,
  trafficPlan,
} from '#core/plan.ts';
import type { CountOrPercent, DeploymentSpecInput } from '#core/spec.ts';
import { hosts, specOf } from '#test/support/fixtures.ts';

/** Distinct host names, in no particular order. */
const hostLists = fc.uniqueArray(fc.stringMatching(/^h[0-9a-z]{1,8}$/), { minLength: 0, maxLength: 300 });
const counts = fc.integer({ min: 1, max: 400 });
/** Percentages from 0.1% to 100%, with at most one decimal. */
const percents = fc.integer({ min: 1, max: 1000 }).map((tenths) => `${tenths / 10}%`);
const sizes: fc.Arbitrary<CountOrPercent> = fc.oneof(counts, percents);
const sizeLists = fc.array(sizes, { minLength: 1, maxLength: 6 });

function resolvedSize(size: CountOrPercent, total: number): number {
  return Math.max(1, resolveCount(size, total, 'up'));
}

const nonEmptyHostLists = hostLists.filter((l) => l.length > 0);
/** Canary stages in tenths of a percent: increasing, ending at 100% (1000 tenths). */
const stageTenths = fc
  .uniqueArray(fc.integer({ min: 1, max: 999 }), { maxLength: 19 })
  .map((tenths) => [...tenths.sort((a, b) => a - b), 1000]);
/** Linear steps in tenths of a percent, from 0.1% to 100%. */
const stepTenths = fc.integer({ min: 1, max: 1000 });

/** The cumulative host counts of stages given in tenths of a percent, in exact integer arithmetic. */
function stageCounts(tenths: readonly number[], total: number): number[] {
  return tenths.map((t) => Math.max(1, Math.ceil((t * total) / 1000)));
}

/** The stages of a linear step given in tenths of a percent: n, 2n, 3n, ... capped at 100%. */
function linearTenths(step: number): number[] {
  return Array.from({ length: Math.ceil(1000 / step) }, (_, i) => Math.min(1000, (i + 1) * step));
}

/** How many hosts have been deployed after each wave. */
function cumulative(waves: readonly string[][]): number[] {
  let done = 0;
  return waves.map((wave) => {
    done += wave.length;
    return done;
  });
}

function refusalOf(plan: () => unknown): unknown {
  try {
    plan();
  } catch (error) {
    return error;
  }
  throw new Error('expected the plan to be refused');
}

const blueGreen = {
  type: 'blueGreen',
  blue: { tags: { Color: 'blue' } },
  green: { tags: { Color: 'green' } },
  listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/0123456789abcdef',
  blueTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/0123456789abcdef',
  greenTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/0123456789abcdef',
} as const;

function blueGreenOf(overrides: Record<string, unknown> = {}): BlueGreenStrategy {
  const { strategy } = specOf({ strategy: { ...blueGreen, ...overrides } as DeploymentSpecInput['strategy'] });
  if (strategy?.type !== 'blueGreen') throw new Error('expected a blueGreen strategy');
  return strategy;
}

/** Any wave strategy, with or without minHealthy. */
const waveStrategies: fc.Arbitrary<DeploymentSpecInput['strategy']> = fc.oneof(
  fc.record({ type: fc.constant('allAtOnce' as const), minHealthy: fc.option(sizes, { nil: undefined }) }),
  fc.record({
    type: fc.constant('rolling' as const),
    batchSize: fc.oneof(sizes, sizeLists),
    minHealthy: fc.option(sizes, { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('canary' as const),
    stages: stageTenths.map((tenths) => tenths.map((t) => t / 10)),
    minHealthy: fc.option(sizes, { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('linear' as const),
    stepPercent: stepTenths.map((t) => t / 10),
    minHealthy: fc.option(sizes, { nil: undefined }),
  }),
);

describe('planRolling', () => {
  it('never plans an empty wave', () => {
    fc.assert(
      fc.property(hostLists, fc.oneof(sizes, sizeLists), (list, batchSize) => {
        for (const wave of planRolling(list, batchSize)) expect(wave.length).toBeGreaterThan(0);
      }),
    );
  });

  it('puts every host in exactly one wave and keeps their order', () => {
    fc.assert(
      fc.property(hostLists, fc.oneof(sizes, sizeLists), (list, batchSize) => {
        expect(planRolling(list, batchSize).flat()).toEqual(list);
      }),
    );
  });

  it('makes every wave but the last exactly the resolved size of one batch', () => {
    fc.assert(
      fc.property(hostLists, sizes, (list, batchSize) => {
        const waves = planRolling(list, batchSize);
        const size = resolvedSize(batchSize, list.length);
        for (const wave of waves.slice(0, -1)) expect(wave.length).toBe(size);
        const last = waves.at(-1);
        if (last) expect(last.length).toBeLessThanOrEqual(size);
      }),
    );
  });

  it('takes a list of sizes in order and repeats the last one', () => {
    fc.assert(
      fc.property(hostLists, sizeLists, (list, batchSizes) => {
        const waves = planRolling(list, batchSizes);
        waves.forEach((wave, index) => {
          const size = resolvedSize(batchSizes[Math.min(index, batchSizes.length - 1)] as CountOrPercent, list.length);
          if (index < waves.length - 1) expect(wave.length).toBe(size);
          else expect(wave.length).toBeLessThanOrEqual(size);
        });
      }),
    );
  });

  it('plans no waves for no hosts', () => {
    expect(planRolling([], '25%')).toEqual([]);
  });

  it('splits 10 hosts at 25% into waves of 3, 3, 3 and 1', () => {
    expect(planRolling(hosts(10), '25%').map((w) => w.length)).toEqual([3, 3, 3, 1]);
  });

  it('starts with one canary host and then follows the later sizes of a list', () => {
    expect(planRolling(hosts(20), [1, '10%', '50%']).map((w) => w.length)).toEqual([1, 2, 10, 7]);
  });

  it('gives at least one host per wave when a percentage rounds to nothing', () => {
    expect(planRolling(hosts(3), '0.1%').map((w) => w.length)).toEqual([1, 1, 1]);
  });
});

describe('planWaves', () => {
  it('refuses a target that matches no hosts', () => {
    expect(() => planWaves(specOf(), [])).toThrow(PlanRefused);
    expect(() => planWaves(specOf(), [])).toThrow('the targets match no hosts');
  });

  it('refuses a rolling wave bigger than minHealthy leaves out of service', () => {
    const spec = specOf({ strategy: { type: 'rolling', batchSize: '25%', minHealthy: '90%' } });

    const refusal = refusalOf(() => planWaves(spec, hosts(10)));

    expect(refusal).toBeInstanceOf(PlanRefused);
    expect(refusal).toMatchObject({
      name: 'PlanRefused',
      message:
        'a rolling wave of 3 hosts would leave fewer than minHealthy (90%) of 10 hosts in service; use smaller batches or lower minHealthy',
    });
  });

  it('accepts waves that exactly use the out-of-service budget', () => {
    const spec = specOf({ strategy: { type: 'rolling', batchSize: 2, minHealthy: 8 } });

    expect(planWaves(spec, hosts(10)).map((w) => w.length)).toEqual([2, 2, 2, 2, 2]);
  });

  it('refuses all-at-once when any minHealthy is required, and suggests a strategy with smaller waves', () => {
    const spec = specOf({ strategy: { type: 'allAtOnce', minHealthy: 1 } });

    const refusal = refusalOf(() => planWaves(spec, hosts(5)));

    expect(refusal).toBeInstanceOf(PlanRefused);
    expect(refusal).toMatchObject({
      message:
        'an allAtOnce wave of 5 hosts would leave fewer than minHealthy (1) of 5 hosts in service; use a rolling, canary or linear strategy, or lower minHealthy',
    });
  });

  it('counts a single host in the singular when refusing a plan', () => {
    const spec = specOf({ strategy: { type: 'allAtOnce', minHealthy: 1 } });

    expect(() => planWaves(spec, hosts(1))).toThrow(
      'an allAtOnce wave of 1 host would leave fewer than minHealthy (1) of 1 host in service;',
    );
  });

  it('puts every host in one wave for all-at-once', () => {
    expect(planWaves(specOf({ strategy: { type: 'allAtOnce' } }), hosts(7))).toEqual([hosts(7)]);
  });

  it('sorts the hosts so that a retried plan is the same plan, whatever the strategy', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, waveStrategies, (list, strategy) => {
        const spec = specOf({ strategy });
        const plan = (hostList: readonly string[]) => {
          try {
            return planWaves(spec, hostList);
          } catch (error) {
            return error;
          }
        };
        expect(plan([...list].reverse())).toEqual(plan(list));
        const waves = plan(list);
        if (Array.isArray(waves)) expect(waves.flat()).toEqual([...list].sort());
      }),
    );
  });

  it('never plans a wave larger than the out-of-service budget, whatever the strategy', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, waveStrategies, (list, strategy) => {
        const spec = specOf({ strategy });
        let waves: string[][];
        try {
          waves = planWaves(spec, list);
        } catch (error) {
          expect(error).toBeInstanceOf(PlanRefused);
          expect((error as PlanRefused).message).toContain(` ${spec.strategy.type} wave of `);
          return;
        }
        const budget = outOfServiceBudget(list.length, spec.strategy.minHealthy);
        for (const wave of waves) expect(wave.length).toBeLessThanOrEqual(budget);
      }),
    );
  });
});

describe('planWaves for canary', () => {
  const canary = (stages: readonly number[] | undefined) => specOf({ strategy: { type: 'canary', stages: stages && [...stages] } });

  it('puts every host in exactly one wave, in sorted order, with no empty wave', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, stageTenths, (list, tenths) => {
        const waves = planWaves(canary(tenths.map((t) => t / 10)), list);

        expect(waves.flat()).toEqual([...list].sort());
        for (const wave of waves) expect(wave.length).toBeGreaterThan(0);
        expect(waves[0]?.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('plans at most one wave per stage and ends each wave where a stage ends, skipping stages that add no host', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, stageTenths, (list, tenths) => {
        const waves = planWaves(canary(tenths.map((t) => t / 10)), list);
        const counts = stageCounts(tenths, list.length);

        expect(waves.length).toBeLessThanOrEqual(tenths.length);
        expect(cumulative(waves)).toEqual([...new Set(counts)]);
        // Each stage is covered by the first wave that reaches it: at least ceil(stage% of the fleet) hosts.
        for (const count of counts) {
          const reached = cumulative(waves).find((done) => done >= count);
          expect(reached).toBeGreaterThanOrEqual(Math.ceil(count));
        }
      }),
    );
  });

  it('splits 12 hosts with the default stages 10, 50 and 100 into waves of 2, 4 and 6', () => {
    expect(planWaves(canary(undefined), hosts(12)).map((w) => w.length)).toEqual([2, 4, 6]);
  });

  it('skips a stage that would add no host, so 3 hosts at 10, 20 and 100 make waves of 1 and 2', () => {
    expect(planWaves(canary([10, 20, 100]), hosts(3))).toEqual([hosts(1), hosts(2, 1)]);
  });

  it('gives the first stage one host even when its share of the fleet rounds to nothing', () => {
    expect(planWaves(canary([0.1, 100]), hosts(5)).map((w) => w.length)).toEqual([1, 4]);
  });

  it('refuses stages that end before 100% rather than leave hosts out of the plan', () => {
    expect(() => planStages(hosts(10), [10, 50])).toThrow('the stages end before 100%, leaving 5 hosts out; end them at 100');
  });

  it('refuses a canary wave bigger than minHealthy leaves out of service, naming the wave, the fleet and minHealthy', () => {
    const spec = specOf({ strategy: { type: 'canary', minHealthy: '60%' } });

    const refusal = refusalOf(() => planWaves(spec, hosts(12)));

    expect(refusal).toBeInstanceOf(PlanRefused);
    expect(refusal).toMatchObject({
      message:
        'a canary wave of 6 hosts would leave fewer than minHealthy (60%) of 12 hosts in service; use more stages, closer together, or lower minHealthy',
    });
  });

  it('accepts canary stages whose largest wave fits the out-of-service budget', () => {
    const spec = specOf({ strategy: { type: 'canary', stages: [10, 30, 50, 70, 100], minHealthy: '70%' } });

    expect(planWaves(spec, hosts(10)).map((w) => w.length)).toEqual([1, 2, 2, 2, 3]);
  });
});

describe('planWaves for linear', () => {
  const linear = (stepPercent: number | undefined) => specOf({ strategy: { type: 'linear', stepPercent } });

  it('puts every host in exactly one wave, in sorted order, with no empty wave', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, stepTenths, (list, step) => {
        const waves = planWaves(linear(step / 10), list);

        expect(waves.flat()).toEqual([...list].sort());
        for (const wave of waves) expect(wave.length).toBeGreaterThan(0);
        expect(waves[0]?.length).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('plans at most one wave per step and ends each wave where a step ends, skipping steps that add no host', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, stepTenths, (list, step) => {
        const waves = planWaves(linear(step / 10), list);
        const tenths = linearTenths(step);
        const counts = stageCounts(tenths, list.length);

        expect(tenths.at(-1)).toBe(1000);
        expect(waves.length).toBeLessThanOrEqual(tenths.length);
        expect(cumulative(waves)).toEqual([...new Set(counts)]);
        for (const count of counts) {
          const reached = cumulative(waves).find((done) => done >= count);
          expect(reached).toBeGreaterThanOrEqual(count);
        }
      }),
    );
  });

  it('covers the whole fleet for any step the schema accepts, however small', () => {
    fc.assert(
      fc.property(nonEmptyHostLists, fc.double({ min: 1e-9, max: 100, noNaN: true }), (list, stepPercent) => {
        const waves = planWaves(linear(stepPercent), list);

        expect(waves.flat()).toEqual([...list].sort());
        for (const wave of waves) expect(wave.length).toBeGreaterThan(0);
      }),
    );
  });

  it('splits 10 hosts at 30% steps into waves of 3, 3, 3 and 1', () => {
    expect(planWaves(linear(30), hosts(10)).map((w) => w.length)).toEqual([3, 3, 3, 1]);
  });

  it('deploys one host per wave when a step is less than one host', () => {
    expect(planWaves(linear(undefined), hosts(5)).map((w) => w.length)).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses a linear wave bigger than minHealthy leaves out of service', () => {
    const spec = specOf({ strategy: { type: 'linear', stepPercent: 25, minHealthy: '80%' } });

    expect(() => planWaves(spec, hosts(20))).toThrow(
      'a linear wave of 5 hosts would leave fewer than minHealthy (80%) of 20 hosts in service; use a smaller stepPercent or lower minHealthy',
    );
  });
});

describe('planWaves for blueGreen', () => {
  it('deploys the whole green fleet in one wave, sorted, whatever minHealthy says', () => {
    const spec = specOf({ strategy: { ...blueGreen, minHealthy: '100%' } });

    expect(planWaves(spec, hosts(6).reverse())).toEqual([hosts(6)]);
  });

  it('refuses a green fleet with no hosts', () => {
    expect(() => planWaves(specOf({ strategy: blueGreen }), [])).toThrow('the green targets match no hosts');
  });
});

describe('trafficPlan', () => {
  it('moves all traffic to green in one step by default', () => {
    expect(trafficPlan(blueGreenOf())).toEqual([100]);
  });

  it('shifts the green weight through the given traffic steps in order', () => {
    expect(trafficPlan(blueGreenOf({ trafficSteps: [10, 50, 100] }))).toEqual([10, 50, 100]);
  });

  it('returns a copy that callers may change without changing the spec', () => {
    const strategy = blueGreenOf({ trafficSteps: [25, 100] });

    trafficPlan(strategy).push(1);

    expect(strategy.trafficSteps).toEqual([25, 100]);
  });
});

describe('bakeSecondsFor', () => {
  it.each([
    { case: 'rolling pauseSeconds', strategy: { type: 'rolling', pauseSeconds: 90 }, gate: 30, expected: 90 },
    { case: 'a longer gate bake over rolling pauseSeconds', strategy: { type: 'rolling', pauseSeconds: 90 }, gate: 120, expected: 120 },
    { case: 'the default canary bakeSeconds', strategy: { type: 'canary' }, gate: 0, expected: 300 },
    { case: 'canary bakeSeconds', strategy: { type: 'canary', bakeSeconds: 45 }, gate: 10, expected: 45 },
    { case: 'linear intervalSeconds', strategy: { type: 'linear', intervalSeconds: 600 }, gate: 60, expected: 600 },
    { case: 'the gate bake for all-at-once', strategy: { type: 'allAtOnce' }, gate: 75, expected: 75 },
    { case: 'the gate bake for blueGreen', strategy: { ...blueGreen, keepBlueSeconds: 900 }, gate: 20, expected: 20 },
    { case: 'nothing for all-at-once without a gate bake', strategy: { type: 'allAtOnce' }, gate: 0, expected: 0 },
  ] as const)('waits for $case: $expected seconds', ({ strategy, gate, expected }) => {
    const spec = specOf({ strategy: strategy as DeploymentSpecInput['strategy'], gates: { bakeSeconds: gate } });

    expect(bakeSecondsFor(spec)).toBe(expected);
  });
});

describe('resolveCount', () => {
  it.each([
    ['10%', 12, 'down', 1],
    ['10%', 12, 'up', 2],
    ['10%', 30, 'down', 3],
    ['10%', 30, 'up', 3],
    ['33.3%', 3, 'down', 0],
    ['33.3%', 3, 'up', 1],
    ['100%', 7, 'down', 7],
    ['0%', 7, 'up', 0],
    [4, 10, 'up', 4],
    [4, 10, 'down', 4],
  ] as const)('resolves %j of %i hosts rounding %s to %i', (value, total, round, expected) => {
    expect(resolveCount(value, total, round)).toBe(expected);
  });

  it('rounds a percentage down and up to the neighbouring whole numbers of the exact share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 20_000 }), (tenths, total) => {
        const value = `${tenths / 10}%`;
        const exact = (tenths / 1000) * total;
        const down = resolveCount(value, total, 'down');
        const up = resolveCount(value, total, 'up');
        expect(down).toBeLessThanOrEqual(up);
        expect(up - down).toBeLessThanOrEqual(1);
        expect(down).toBeLessThanOrEqual(exact + 1e-6);
        expect(up).toBeGreaterThanOrEqual(exact - 1e-6);
        expect(Number.isInteger(down) && Number.isInteger(up)).toBe(true);
      }),
    );
  });
});

describe('outOfServiceBudget', () => {
  it('allows the whole fleet out of service without minHealthy', () => {
    expect(outOfServiceBudget(12, undefined)).toBe(12);
  });

  it('rounds minHealthy up, so 90% of 12 hosts leaves 1 host to take out', () => {
    expect(outOfServiceBudget(12, '90%')).toBe(1);
  });

  it('never goes below zero when minHealthy exceeds the fleet', () => {
    expect(outOfServiceBudget(3, 5)).toBe(0);
  });
});
