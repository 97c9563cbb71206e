import { describe, expect, it } from 'vitest';
import { regionCompleted } from '#app/fan-out/region-completed.ts';
import type { RegionalCompleted } from '#core/regions.ts';
import { givenRegions, PARENT, startedFanOut } from '#test/unit/app/fan-out/fixtures.ts';

const completion: RegionalCompleted = {
  parentId: PARENT,
  region: 'eu-west-1',
  phase: 'deploy',
  deploymentId: `${PARENT}-eu-west-1`,
  status: 'ROLLED_BACK',
  reason: 'wave 2: 1 of 4 hosts failed',
  hosts: 4,
  succeeded: 2,
  failed: 1,
  rolledBack: 3,
  previousVersion: '1.2.2',
  startedAt: '2026-03-02T09:00:00.000Z',
  endedAt: '2026-03-02T09:05:00.000Z',
};

/** The parent with eu-west-1 waiting on `token`. */
async function waiting(token: string | null = 'token-eu') {
  const started = await startedFanOut();
  givenRegions(started.ports, { 'eu-west-1': { status: 'REQUESTED', token } });
  return started;
}

describe('regionCompleted', () => {
  it("records the region's outcome, counts and timings, wakes the wait with the stored token, then clears it", async () => {
    const { ports } = await waiting();

    const result = await regionCompleted(ports, completion);

    expect(result).toEqual({ recorded: true, delivered: true });
    expect(ports.callbacks.answers).toEqual([{ token: 'token-eu', output: completion }]);
    const entry = (await ports.deployments.getDeployment(PARENT)).regions?.['eu-west-1'];
    expect(entry).toMatchObject({
      status: 'ROLLED_BACK',
      reason: 'wave 2: 1 of 4 hosts failed',
      hosts: 4,
      succeeded: 2,
      failed: 1,
      rolledBack: 3,
      previousVersion: '1.2.2',
      startedAt: completion.startedAt,
      endedAt: completion.endedAt,
    });
    expect(entry?.token).toBeNull();
    expect(await ports.audit.getEvents(PARENT)).toEqual([
      expect.objectContaining({
        type: 'RegionCompleted',
        region: 'eu-west-1',
        status: 'ROLLED_BACK',
        regionalDeploymentId: `${PARENT}-eu-west-1`,
      }),
    ]);
  });

  it('changes nothing on a repeated delivery: no token waits any more', async () => {
    const { ports } = await waiting(null);
    const before = await ports.deployments.getDeployment(PARENT);

    const result = await regionCompleted(ports, completion);

    expect(result).toEqual({ recorded: false, delivered: false });
    expect(ports.callbacks.answers).toEqual([]);
    expect(await ports.deployments.getDeployment(PARENT)).toEqual(before);
    expect(ports.audit.types(PARENT)).toEqual([]);
  });

  it("ignores a completion of another deployment than the one the region's entry waits for", async () => {
    const { ports } = await waiting();

    const result = await regionCompleted(ports, { ...completion, deploymentId: 'someone-else' });

    expect(result).toEqual({ recorded: false, delivered: false });
    expect(ports.callbacks.answers).toEqual([]);
  });

  it('ignores a completion whose parent has no record', async () => {
    const { ports } = await waiting();

    await expect(regionCompleted(ports, { ...completion, parentId: 'unknown' })).resolves.toEqual({ recorded: false, delivered: false });
  });

  it("still records the region's real outcome and clears the token when the wait has just timed out", async () => {
    const { ports } = await waiting();
    ports.callbacks.stale.set('token-eu', 'TaskTimedOut');

    const result = await regionCompleted(ports, completion);

    expect(result).toEqual({ recorded: true, delivered: false });
    const entry = (await ports.deployments.getDeployment(PARENT)).regions?.['eu-west-1'];
    expect(entry?.status).toBe('ROLLED_BACK');
    expect(entry?.token).toBeNull();
  });

  it('keeps the token when sending it back fails otherwise, so that a retried delivery sends it again', async () => {
    const { ports } = await waiting();
    ports.callbacks.stale.set('token-eu', 'ThrottlingException');

    await expect(regionCompleted(ports, completion)).rejects.toThrow(/ThrottlingException/);

    expect((await ports.deployments.getDeployment(PARENT)).regions?.['eu-west-1']?.token).toBe('token-eu');
    ports.callbacks.stale.clear();
    await expect(regionCompleted(ports, completion)).resolves.toEqual({ recorded: true, delivered: true });
  });

  it("records a rollback's completion under the region's rollback entry", async () => {
    const { ports } = await startedFanOut();
    givenRegions(ports, {
      'us-east-1': { status: 'SUCCEEDED', rollback: { deploymentId: `${PARENT}-us-east-1-rb`, status: 'REQUESTED', token: 'token-rb' } },
    });

    const result = await regionCompleted(ports, {
      ...completion,
      region: 'us-east-1',
      phase: 'rollback',
      deploymentId: `${PARENT}-us-east-1-rb`,
      status: 'SUCCEEDED',
      reason: null,
    });

    expect(result.delivered).toBe(true);
    const entry = (await ports.deployments.getDeployment(PARENT)).regions?.['us-east-1'];
    expect(entry?.status).toBe('SUCCEEDED');
    expect(entry?.rollback).toMatchObject({ status: 'SUCCEEDED', succeeded: 2 });
    expect(entry?.rollback?.token).toBeNull();
    expect(ports.audit.types(PARENT)).toEqual(['RegionRollbackCompleted']);
  });
});
