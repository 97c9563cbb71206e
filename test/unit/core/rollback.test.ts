import { describe, expect, it } from 'vitest';
import { RollbackRefused } from '#core/errors.ts';
import type { DeploymentRecord } from '#core/records.ts';
import { manualRollbackSpec } from '#core/rollback.ts';
import { parseSpec } from '#core/spec.ts';
import { specOf } from '#test/support/fixtures.ts';

function finished(spec: ReturnType<typeof specOf>, status: DeploymentRecord['status'] = 'SUCCEEDED'): DeploymentRecord {
  return { deploymentId: 'dep-9', spec, status, createdAt: '2026-01-01T00:00:00Z' } as DeploymentRecord;
}

describe('manualRollbackSpec', () => {
  const spec = specOf({
    previousVersion: '1.2.2',
    strategy: { type: 'canary', stages: [10, 50, 100], bakeSeconds: 300, maxErrors: 2, minHealthy: '80%' },
    gates: { alarms: { names: ['web-5xx'] }, bakeSeconds: 600, approval: 'everyWave' },
    window: { cron: '0 2 * * *', durationMinutes: 120, timezone: 'UTC' },
  });

  it('keeps the strategy, gates and window of the original for an ordinary rollback', () => {
    const rollback = parseSpec(manualRollbackSpec(finished(spec), 'ivan'));

    expect(rollback).toMatchObject({
      version: spec.previousVersion,
      previousVersion: spec.version,
      rollbackOf: 'dep-9',
      requestedBy: 'ivan',
    });
    expect(rollback.strategy).toEqual(spec.strategy);
    expect(rollback.gates).toEqual(spec.gates);
    expect(rollback.window).toEqual(spec.window);
  });

  it('takes every host at once for an emergency, with no approval, bake, alarm gate or window, and stops rather than roll back', () => {
    const rollback = parseSpec(manualRollbackSpec(finished(spec), 'ivan', { emergency: true }));

    expect(rollback.strategy).toEqual({ type: 'allAtOnce', maxErrors: 2 });
    expect(rollback.gates).toEqual({ alarms: {}, bakeSeconds: 0, approval: 'none' });
    expect(rollback.window).toBeUndefined();
    expect(rollback).toMatchObject({ priority: 'emergency', onFailure: 'abort', version: spec.previousVersion, rollbackOf: 'dep-9' });
  });

  it('keeps blue-green for an emergency, swapping the fleets, with all traffic in one step and blue kept no longer', () => {
    const blueGreen = specOf({
      previousVersion: '1.2.2',
      strategy: {
        type: 'blueGreen',
        blue: { tags: { color: 'blue' } },
        green: { tags: { color: 'green' } },
        listenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210',
        blueTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef',
        greenTargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/0123456789abcdef',
        trafficSteps: [10, 50, 100],
      },
    });

    const rollback = parseSpec(manualRollbackSpec(finished(blueGreen), 'ivan', { emergency: true }));

    expect(rollback.strategy).toMatchObject({
      type: 'blueGreen',
      blue: { tags: { color: 'green' } },
      green: { tags: { color: 'blue' } },
      trafficSteps: [100],
      keepBlueSeconds: 0,
    });
  });

  it('refuses a deployment that is still running', () => {
    expect(() => manualRollbackSpec(finished(spec, 'RUNNING'), 'ivan', { emergency: true })).toThrow(RollbackRefused);
  });
});
