import { describe, expect, it } from 'vitest';
import { evaluateRegionWave } from '#app/fan-out/evaluate-region-wave.ts';
import type { FanOutState, RegionResult } from '#core/regions.ts';
import { afterWave, givenRegions, PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

const done = (region: string, phase: 'deploy' | 'rollback' = 'deploy'): RegionResult => ({
  deploymentId: PARENT,
  region,
  phase,
  timeoutSeconds: 600,
  completion: {},
});
const timedOut = (region: string): RegionResult => ({ ...done(region), error: { Error: 'States.Timeout' } });
const evaluate = (
  ports: Parameters<typeof evaluateRegionWave>[0],
  state: FanOutState,
  results: RegionResult[],
  phase = 'deploy' as const,
) => evaluateRegionWave(ports, { state: { ...state, regionResults: results }, phase, results });

describe('evaluateRegionWave', () => {
  it('goes on to the next region wave when every region of the wave succeeded, summing the counts over every region', async () => {
    const { ports, state } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'SUCCEEDED', hosts: 4, succeeded: 4, failed: 0 } });

    const next = await evaluate(ports, state, [done('us-east-1')]);

    expect(next).toEqual({ ...state, regionWave: 1, waveRegions: ['eu-west-1', 'ap-southeast-2'], verdict: 'continue' });
    expect(await ports.deployments.getDeployment(PARENT)).toMatchObject({ hostCount: 4, succeeded: 4, failed: 0, rolledBack: 0 });
    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({
        type: 'RegionWaveCompleted',
        wave: 0,
        regions: ['us-east-1'],
        failed: [],
        statuses: { 'us-east-1': 'SUCCEEDED' },
      }),
    ]);
  });

  it('records a region whose wait timed out as TIMED_OUT, clears its token, and stops before the waves not started', async () => {
    const { ports, state } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'REQUESTED', token: 'token-us' } });

    const next = await evaluate(ports, state, [timedOut('us-east-1')]);

    expect(next).toMatchObject({
      verdict: 'failed',
      outcome: 'FAILED',
      reason:
        'region us-east-1 did not answer within 600 s (no "Regional Deployment Completed" event); not started: eu-west-1, ap-southeast-2',
    });
    expect(next).not.toHaveProperty('regionResults');
    const entry = (await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1'];
    expect(entry).toMatchObject({ status: 'TIMED_OUT', token: null });
  });

  it('records a region whose request failed as FAILED with the cause', async () => {
    const { ports, state } = await startedFanOut();

    await evaluate(ports, state, [{ ...done('us-east-1'), error: { Error: 'Lambda.Unknown', Cause: 'the bus refused the event' } }]);

    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']).toMatchObject({
      status: 'FAILED',
      reason: 'region us-east-1 could not be requested: the bus refused the event',
    });
  });

  it('keeps the outcome of a completion that arrived as the wait ended', async () => {
    const { ports, state } = await startedFanOut();
    givenRegions(ports, { 'us-east-1': { status: 'SUCCEEDED', hosts: 4, succeeded: 4 } });

    const next = await evaluate(ports, state, [timedOut('us-east-1')]);

    expect(next).toMatchObject({ verdict: 'continue', regionWave: 1 });
    expect((await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1']?.status).toBe('SUCCEEDED');
  });

  it('rolls back the regions that succeeded when a later wave fails under the roll-back-all policy', async () => {
    const { ports, state } = await startedFanOut({ regionPolicy: { onFailure: 'rollbackAll' } });
    givenRegions(ports, {
      'us-east-1': { status: 'SUCCEEDED' },
      'eu-west-1': { status: 'SUCCEEDED' },
      'ap-southeast-2': { status: 'ROLLED_BACK', reason: 'wave 1: 2 of 2 hosts failed' },
    });

    const next = await evaluate(ports, afterWave(state, 1, []), [done('eu-west-1'), done('ap-southeast-2')]);

    expect(next).toMatchObject({
      verdict: 'rollback',
      outcome: 'FAILED',
      reason: 'region ap-southeast-2 ROLLED_BACK: wave 1: 2 of 2 hosts failed',
      rollbackRegions: ['us-east-1', 'eu-west-1'],
    });
  });

  it('stops without rolling back under the stop policy', async () => {
    const { ports, state } = await startedFanOut();
    givenRegions(ports, {
      'us-east-1': { status: 'SUCCEEDED' },
      'eu-west-1': { status: 'FAILED' },
      'ap-southeast-2': { status: 'SUCCEEDED' },
    });

    const next = await evaluate(ports, afterWave(state, 1, []), [done('eu-west-1'), done('ap-southeast-2')]);

    expect(next).toMatchObject({ verdict: 'failed', reason: 'region eu-west-1 FAILED' });
    expect(next).not.toHaveProperty('rollbackRegions');
  });

  it('ends ROLLED_BACK when every rollback succeeded, and FAILED naming the rollbacks that did not', async () => {
    const rolling = { outcome: 'FAILED' as const, reason: 'region ap-southeast-2 FAILED', rollbackRegions: ['us-east-1', 'eu-west-1'] };
    const { ports, state } = await startedFanOut({ regionPolicy: { onFailure: 'rollbackAll' } });
    givenRegions(ports, {
      'us-east-1': { status: 'SUCCEEDED', rollback: { deploymentId: 'rb-us', status: 'SUCCEEDED', succeeded: 4 } },
      'eu-west-1': { status: 'SUCCEEDED', rollback: { deploymentId: 'rb-eu', status: 'SUCCEEDED', succeeded: 2 } },
    });
    const results = [done('us-east-1', 'rollback'), done('eu-west-1', 'rollback')];

    const ended = await evaluateRegionWave(ports, { state: { ...state, ...rolling, regionResults: results }, phase: 'rollback', results });

    expect(ended).toMatchObject({ outcome: 'ROLLED_BACK', reason: 'region ap-southeast-2 FAILED; rolled back us-east-1, eu-west-1' });
    expect(ended).not.toHaveProperty('verdict');
    expect((await ports.deployments.getDeployment(PARENT)).rolledBack).toBe(6);
    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({ type: 'RegionsRolledBack', regions: ['us-east-1', 'eu-west-1'], failed: [] }),
    ]);

    givenRegions(ports, { 'eu-west-1': { rollback: { deploymentId: 'rb-eu', status: 'FAILED', reason: 'host i-1 failed' } } });
    const failed = await evaluateRegionWave(ports, { state: { ...state, ...rolling }, phase: 'rollback', results });
    expect(failed).toMatchObject({
      outcome: 'FAILED',
      reason: 'region ap-southeast-2 FAILED; rollback in region eu-west-1 FAILED: host i-1 failed',
    });
  });
});
