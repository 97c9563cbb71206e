import type { TargetGroupWeight } from '#ports';
import { InvalidWeights } from './errors.ts';

/** The largest weight ELBv2 accepts for a target group in a forward action. */
export const MAX_WEIGHT = 999;
/** A forward action takes at most five target groups. */
export const MAX_TARGET_GROUPS = 5;

/**
 * Checks a weighted forward before it reaches a listener: one to five target
 * groups, each named once, each weight an integer from 0 to 999, and at least
 * one weight above 0. Throws InvalidWeights listing every problem.
 */
export function validateWeights(weights: readonly TargetGroupWeight[]): void {
  const problems: string[] = [];
  if (weights.length === 0) problems.push('a forward action needs at least one target group');
  if (weights.length > MAX_TARGET_GROUPS) {
    problems.push(`a forward action takes at most ${MAX_TARGET_GROUPS} target groups, got ${weights.length}`);
  }
  const seen = new Set<string>();
  for (const { targetGroupArn, weight } of weights) {
    if (targetGroupArn.length === 0) problems.push('a target group ARN is empty');
    else if (seen.has(targetGroupArn)) problems.push(`target group ${targetGroupArn} appears more than once`);
    seen.add(targetGroupArn);
    if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      problems.push(`the weight of ${targetGroupArn || 'a target group'} must be an integer from 0 to ${MAX_WEIGHT}, got ${weight}`);
    }
  }
  if (weights.length > 0 && weights.every(({ weight }) => weight === 0)) {
    problems.push('every weight is 0, so the listener would send traffic nowhere');
  }
  if (problems.length > 0) throw new InvalidWeights(problems);
}

/**
 * The blue-green split for one traffic step: `greenPercent` of the traffic to
 * green and the rest to blue, as weights that add up to 100. 0 is all blue
 * (the switch-back), 100 is all green.
 */
export function weightsFor(blueTargetGroupArn: string, greenTargetGroupArn: string, greenPercent: number): TargetGroupWeight[] {
  if (!Number.isInteger(greenPercent) || greenPercent < 0 || greenPercent > 100) {
    throw new InvalidWeights([`the green share must be a whole percentage from 0 to 100, got ${greenPercent}`]);
  }
  if (blueTargetGroupArn === greenTargetGroupArn) {
    throw new InvalidWeights([`blue and green are the same target group (${blueTargetGroupArn})`]);
  }
  return [
    { targetGroupArn: blueTargetGroupArn, weight: 100 - greenPercent },
    { targetGroupArn: greenTargetGroupArn, weight: greenPercent },
  ];
}
