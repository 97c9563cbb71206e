import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CountOrPercent } from '#core/spec.ts';
import { evaluateThresholds, isHostFailure } from '#core/thresholds.ts';

/** A fleet and a number of failed hosts in it. */
const fleets = fc
  .integer({ min: 0, max: 5000 })
  .chain((total) => fc.record({ total: fc.constant(total), failed: fc.integer({ min: 0, max: total }) }));
const percents = fc.integer({ min: 0, max: 1000 }).map((tenths) => `${tenths / 10}%`);
const countOrPercent: fc.Arbitrary<CountOrPercent> = fc.oneof(fc.integer({ min: 0, max: 5000 }), percents);

describe('evaluateThresholds', () => {
  it('passes whenever the failures are within a maxErrors count', () => {
    fc.assert(
      fc.property(fleets, fc.integer({ min: 0, max: 5000 }), ({ total, failed }, maxErrors) => {
        expect(evaluateThresholds({ total, failed }, maxErrors, undefined).ok).toBe(failed <= maxErrors);
      }),
    );
  });

  it('rounds a maxErrors percentage down to the hosts it allows', () => {
    fc.assert(
      fc.property(fleets, fc.integer({ min: 0, max: 1000 }), ({ total, failed }, tenths) => {
        // Exact integer arithmetic: tenths of a percent of total hosts.
        const allowed = Math.floor((tenths * total) / 1000);
        expect(evaluateThresholds({ total, failed }, `${tenths / 10}%`, undefined).ok).toBe(failed <= allowed);
      }),
    );
  });

  it('rounds a minHealthy percentage up to the hosts it requires', () => {
    fc.assert(
      fc.property(fleets, fc.integer({ min: 0, max: 1000 }), ({ total, failed }, tenths) => {
        const required = Math.ceil((tenths * total) / 1000);
        expect(evaluateThresholds({ total, failed }, '100%', `${tenths / 10}%`).ok).toBe(total - failed >= required);
      }),
    );
  });

  it('never turns a failing verdict into a passing one when more hosts fail', () => {
    fc.assert(
      fc.property(fleets, countOrPercent, fc.option(countOrPercent, { nil: undefined }), ({ total, failed }, maxErrors, minHealthy) => {
        fc.pre(failed < total);
        const now = evaluateThresholds({ total, failed }, maxErrors, minHealthy);
        const worse = evaluateThresholds({ total, failed: failed + 1 }, maxErrors, minHealthy);
        if (!now.ok) expect(worse.ok).toBe(false);
      }),
    );
  });

  it('always gives a reason when it fails and none when it passes', () => {
    fc.assert(
      fc.property(fleets, countOrPercent, fc.option(countOrPercent, { nil: undefined }), (counts, maxErrors, minHealthy) => {
        const verdict = evaluateThresholds(counts, maxErrors, minHealthy);
        expect(verdict.reason === undefined).toBe(verdict.ok);
      }),
    );
  });

  it('lets 10% of 12 hosts allow exactly one failure', () => {
    expect(evaluateThresholds({ total: 12, failed: 1 }, '10%', undefined)).toEqual({ ok: true });
    expect(evaluateThresholds({ total: 12, failed: 2 }, '10%', undefined)).toEqual({
      ok: false,
      reason: '2 of 12 hosts failed, more than maxErrors allows (1)',
    });
  });

  it('fails on the first failure with the default maxErrors of 0', () => {
    expect(evaluateThresholds({ total: 40, failed: 1 }, 0, undefined)).toEqual({
      ok: false,
      reason: '1 of 40 hosts failed, more than maxErrors allows (0)',
    });
  });

  it('requires 11 of 12 hosts healthy for a minHealthy of 90%', () => {
    expect(evaluateThresholds({ total: 12, failed: 1 }, '100%', '90%')).toEqual({ ok: true });
    expect(evaluateThresholds({ total: 12, failed: 2 }, '100%', '90%')).toEqual({
      ok: false,
      reason: '10 of 12 hosts healthy, fewer than minHealthy requires (11)',
    });
  });

  it('reports maxErrors before minHealthy when both are broken', () => {
    expect(evaluateThresholds({ total: 10, failed: 5 }, 1, 9).reason).toBe('5 of 10 hosts failed, more than maxErrors allows (1)');
  });
});

describe('isHostFailure', () => {
  it.each(['Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'NoResult', 'DeliveryTimedOut', 'AccessDenied'])(
    'counts a host with status %s against the error budget',
    (status) => {
      expect(isHostFailure(status)).toBe(true);
    },
  );

  it('does not count a host whose command succeeded', () => {
    expect(isHostFailure('Success')).toBe(false);
  });
});
