import { describe, expect, it } from 'vitest';
import { firstFailureOfTrailingRun, secondsBetween, terminal } from '#core/closing.ts';
import type { DeploymentStatus, Release } from '#core/records.ts';

const release = (status: DeploymentStatus, endedAt: string) => ({ status, endedAt }) as Release;

describe('terminal', () => {
  it('keeps a terminal status and refuses a running one', () => {
    expect(terminal('ROLLED_BACK')).toBe('ROLLED_BACK');
    expect(() => terminal('RUNNING')).toThrow('a closed deployment cannot be RUNNING');
  });
});

describe('firstFailureOfTrailingRun', () => {
  it('finds the end of the first of the failures just before now, skipping aborted ones', () => {
    const newestFirst = [release('FAILED', 't3'), release('ABORTED', 't2b'), release('ROLLED_BACK', 't2'), release('SUCCEEDED', 't1')];

    expect(firstFailureOfTrailingRun(newestFirst)).toBe('t2');
  });

  it('finds nothing when the last change succeeded', () => {
    expect(firstFailureOfTrailingRun([release('SUCCEEDED', 't2'), release('FAILED', 't1')])).toBeUndefined();
  });
});

describe('secondsBetween', () => {
  it('counts whole seconds and never goes below zero', () => {
    expect(secondsBetween('2026-01-01T00:00:00Z', new Date('2026-01-01T00:01:30.400Z'))).toBe(90);
    expect(secondsBetween('2026-01-01T00:01:00Z', new Date('2026-01-01T00:00:00Z'))).toBe(0);
  });
});
