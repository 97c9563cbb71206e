import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outOfServiceBudget, PlanRefused, planRolling, planWaves, resolveCount } from '../../lambdas/core/plan.ts';
import type { CountOrPercent } from '../../lambdas/core/spec.ts';
import { hosts, specOf } from './fixtures.ts';

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

  it('refuses a wave bigger than minHealthy leaves out of service', () => {
    const spec = specOf({ strategy: { type: 'rolling', batchSize: '25%', minHealthy: '90%' } });

    const refusal = (() => {
      try {
        planWaves(spec, hosts(10));
      } catch (error) {
        return error;
      }
    })();

    expect(refusal).toBeInstanceOf(PlanRefused);
    expect(refusal).toMatchObject({
      name: 'PlanRefused',
      message: 'a wave of 3 hosts would leave fewer than minHealthy (90%) of 10 hosts in service; use smaller batches or lower minHealthy',
    });
  });

  it('accepts waves that exactly use the out-of-service budget', () => {
    const spec = specOf({ strategy: { type: 'rolling', batchSize: 2, minHealthy: 8 } });

    expect(planWaves(spec, hosts(10)).map((w) => w.length)).toEqual([2, 2, 2, 2, 2]);
  });

  it('refuses all-at-once when any minHealthy is required', () => {
    const spec = specOf({ strategy: { type: 'allAtOnce', minHealthy: 1 } });

    expect(() => planWaves(spec, hosts(5))).toThrow(PlanRefused);
  });

  it('puts every host in one wave for all-at-once', () => {
    expect(planWaves(specOf({ strategy: { type: 'allAtOnce' } }), hosts(7))).toEqual([hosts(7)]);
  });

  it('refuses strategies that are not available yet', () => {
    const spec = specOf({ strategy: { type: 'canary' } });

    expect(() => planWaves(spec, hosts(5))).toThrow('the canary strategy is not available yet; use rolling or allAtOnce');
  });

  it('sorts the hosts so that a retried plan is the same plan', () => {
    fc.assert(
      fc.property(
        hostLists.filter((l) => l.length > 0),
        sizes,
        (list, batchSize) => {
          const spec = specOf({ strategy: { type: 'rolling', batchSize } });
          const shuffled = [...list].reverse();
          expect(planWaves(spec, shuffled)).toEqual(planWaves(spec, list));
          expect(planWaves(spec, list).flat()).toEqual([...list].sort());
        },
      ),
    );
  });

  it('never plans a wave larger than the out-of-service budget', () => {
    fc.assert(
      fc.property(
        hostLists.filter((l) => l.length > 0),
        sizes,
        sizes,
        (list, batchSize, minHealthy) => {
          const spec = specOf({ strategy: { type: 'rolling', batchSize, minHealthy } });
          let waves: string[][];
          try {
            waves = planWaves(spec, list);
          } catch (error) {
            expect(error).toBeInstanceOf(PlanRefused);
            return;
          }
          const budget = outOfServiceBudget(list.length, minHealthy);
          for (const wave of waves) expect(wave.length).toBeLessThanOrEqual(budget);
        },
      ),
    );
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
