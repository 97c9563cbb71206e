import { describe, expect, it } from 'vitest';
import { chunk, LOCK_TTL_SECONDS, MAX_WINDOW_WAIT_SECONDS } from '#core/limits.ts';

describe('chunk', () => {
  it('cuts a list into consecutive slices of at most the size, the last one shorter', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('gives no slice for an empty list', () => {
    expect(chunk([], 50)).toEqual([]);
  });
});

describe('MAX_WINDOW_WAIT_SECONDS', () => {
  it('leaves a deployment four hours of its lock after the longest wait for its window', () => {
    expect(LOCK_TTL_SECONDS - MAX_WINDOW_WAIT_SECONDS).toBe(4 * 3600);
  });
});
