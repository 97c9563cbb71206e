import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidWeights } from '#core/errors.ts';
import { validateWeights, weightsFor } from '#core/traffic.ts';

const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1';
const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2';

/** The problems validateWeights reports, or [] when it accepts the weights. */
function problemsOf(weights: Parameters<typeof validateWeights>[0]): readonly string[] {
  try {
    validateWeights(weights);
    return [];
  } catch (error) {
    if (error instanceof InvalidWeights) return error.problems;
    throw error;
  }
}

describe('weightsFor', () => {
  it('gives green the percentage and blue the rest, adding up to 100', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), (p) => {
        expect(weightsFor(BLUE, GREEN, p)).toEqual([
          { targetGroupArn: BLUE, weight: 100 - p },
          { targetGroupArn: GREEN, weight: p },
        ]);
      }),
    );
  });

  it('produces weights that validateWeights accepts for every whole percentage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), (p) => {
        expect(problemsOf(weightsFor(BLUE, GREEN, p))).toEqual([]);
      }),
    );
  });

  it('refuses a percentage that is fractional or outside 0 to 100', () => {
    for (const p of [12.5, -1, 101, Number.NaN]) {
      expect(() => weightsFor(BLUE, GREEN, p)).toThrow(InvalidWeights);
    }
  });

  it('refuses blue and green being the same target group', () => {
    expect(() => weightsFor(BLUE, BLUE, 10)).toThrow('blue and green are the same target group');
  });
});

describe('validateWeights', () => {
  it('accepts integer weights from 0 to 999 on up to five target groups', () => {
    expect(problemsOf([{ targetGroupArn: BLUE, weight: 999 }])).toEqual([]);
    expect(problemsOf(Array.from({ length: 5 }, (_, i) => ({ targetGroupArn: `${BLUE}-${i}`, weight: i })))).toEqual([]);
  });

  it('refuses a weight that is not an integer from 0 to 999, naming the target group', () => {
    expect(problemsOf([{ targetGroupArn: BLUE, weight: 1000 }])).toEqual([
      `the weight of ${BLUE} must be an integer from 0 to 999, got 1000`,
    ]);
    expect(
      problemsOf([
        { targetGroupArn: BLUE, weight: 0.5 },
        { targetGroupArn: GREEN, weight: -1 },
      ]),
    ).toEqual([
      `the weight of ${BLUE} must be an integer from 0 to 999, got 0.5`,
      `the weight of ${GREEN} must be an integer from 0 to 999, got -1`,
    ]);
  });

  it('refuses no target groups, more than five, a repeated one and an empty ARN', () => {
    expect(problemsOf([])).toEqual(['a forward action needs at least one target group']);
    expect(problemsOf(Array.from({ length: 6 }, (_, i) => ({ targetGroupArn: `${BLUE}-${i}`, weight: 1 })))).toEqual([
      'a forward action takes at most 5 target groups, got 6',
    ]);
    expect(
      problemsOf([
        { targetGroupArn: BLUE, weight: 1 },
        { targetGroupArn: BLUE, weight: 2 },
      ]),
    ).toEqual([`target group ${BLUE} appears more than once`]);
    expect(problemsOf([{ targetGroupArn: '', weight: 1 }])).toEqual(['a target group ARN is empty']);
  });

  it('refuses weights that are all 0, since the listener would send traffic nowhere', () => {
    expect(
      problemsOf([
        { targetGroupArn: BLUE, weight: 0 },
        { targetGroupArn: GREEN, weight: 0 },
      ]),
    ).toEqual(['every weight is 0, so the listener would send traffic nowhere']);
  });

  it('throws an InvalidWeights error whose message lists every problem', () => {
    expect(() => validateWeights([{ targetGroupArn: BLUE, weight: 1000 }])).toThrow(
      new InvalidWeights([`the weight of ${BLUE} must be an integer from 0 to 999, got 1000`]),
    );
    expect(() => validateWeights([])).toThrow(/^invalid target group weights: a forward action needs at least one target group$/);
  });
});
