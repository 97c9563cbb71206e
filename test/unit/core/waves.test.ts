import { describe, expect, it } from 'vitest';
import { commentFor, hostList, hostResultsOf } from '#core/waves.ts';
import type { Invocation } from '#ports';

describe('commentFor', () => {
  it('names the phase, the wave and the batch, with the id last', () => {
    expect(commentFor('dep-1', 'deploy', 0, 1, 3)).toBe('deployctl wave 1 batch 2/3 dep-1');
    expect(commentFor('dep-1', 'rollback', 9999, 0, 1)).toBe('deployctl rollback batch 1/1 dep-1');
  });

  it('keeps to SSM’s 100 characters by cutting the end of a long id', () => {
    const comment = commentFor('x'.repeat(120), 'deploy', 0, 0, 1);
    expect(comment).toHaveLength(100);
    expect(comment.startsWith('deployctl wave 1 batch 1/1 ')).toBe(true);
  });
});

describe('hostResultsOf', () => {
  const seen = new Map<string, Invocation & { commandId: string }>([
    ['i-a', { instanceId: 'i-a', status: 'Success', statusDetails: 'Success', output: `${'x'.repeat(3000)}end`, commandId: 'c1' }],
    ['i-b', { instanceId: 'i-b', status: 'Pending', statusDetails: 'Pending', commandId: 'c1' }],
  ]);

  it('keeps settled results with the tail of their output, and marks unsettled and unseen hosts', () => {
    const [a, b, c] = hostResultsOf(['i-a', 'i-b', 'i-c'], seen, 'deploy', 2, '1.2.3');

    expect(a).toMatchObject({ instanceId: 'i-a', wave: 2, phase: 'deploy', status: 'Success', commandId: 'c1', version: '1.2.3' });
    expect(a?.output).toHaveLength(2500);
    expect(a?.output?.endsWith('end')).toBe(true);
    expect(b).toMatchObject({ status: 'NoResult', statusDetails: 'still Pending when the wait ended' });
    expect(c).toMatchObject({ status: 'Undeliverable', statusDetails: 'SSM reported no invocation for this host', commandId: '' });
  });

  it('keys rollback and validation results apart from the deploy result of the same host', () => {
    expect(hostResultsOf(['i-a'], seen, 'rollback', 9999, '1.2.2')[0]?.instanceId).toBe('i-a#ROLLBACK');
    expect(hostResultsOf(['i-a'], seen, 'validate', 9998, undefined)[0]?.instanceId).toBe('i-a#VALIDATE');
  });
});

describe('hostList', () => {
  it('shows up to ten hosts, then how many more', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `h${i}`);
    expect(hostList(ids.slice(0, 2))).toBe('h0, h1');
    expect(hostList(ids)).toBe('h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 and 2 more');
  });
});
