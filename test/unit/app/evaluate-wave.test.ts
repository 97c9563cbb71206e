import { describe, expect, it } from 'vitest';
import { evaluateWave } from '#app/evaluate-wave.ts';
import { sendWave } from '#app/send-wave.ts';
import { ROLLBACK_WAVE, VALIDATE_WAVE } from '#core/records.ts';
import { DEPLOYMENT_ID, hosts, stateOf } from '#test/support/fixtures.ts';
import { blueGreen, runningDeployment } from '#test/unit/app/support.ts';

/** A deployment whose first wave, of these hosts, was sent (one command), and then the given phase. */
async function sent(
  hostIds: string[],
  overrides: Parameters<typeof runningDeployment>[0] = {},
  phase: 'deploy' | 'rollback' | 'validate' = 'deploy',
) {
  const given = await runningDeployment(overrides);
  await given.ports.waves.putWave(DEPLOYMENT_ID, 0, hostIds);
  await sendWave(given.ports, { state: stateOf({ hostCount: hostIds.length }), taskToken: 't', phase: 'deploy' });
  if (phase !== 'deploy') await sendWave(given.ports, { state: stateOf({ hostCount: hostIds.length }), taskToken: 't', phase });
  return given;
}

describe('evaluateWave', () => {
  it('records every host result and the wave, and goes on when the wave is within the error budget', async () => {
    const { ports } = await sent(hosts(3));

    const state = await evaluateWave(ports, { state: stateOf({ hostCount: 3, callback: { settled: true } }), phase: 'deploy' });

    expect(state).toMatchObject({ wave: 1, succeeded: 3, failed: 0, verdict: 'continue' });
    expect(state.callback).toBeUndefined();
    expect(await ports.waves.getHostResults(DEPLOYMENT_ID)).toHaveLength(3);
    expect(await ports.waves.getWaves(DEPLOYMENT_ID)).toMatchObject([{ wave: 0, status: 'DONE', succeeded: 3, failed: 0 }]);
    expect(await ports.deployments.getDeployment(DEPLOYMENT_ID)).toMatchObject({ succeeded: 3, failed: 0 });
    expect(ports.events.log.at(-1)?.detail).toEqual({
      deploymentId: DEPLOYMENT_ID,
      app: 'web',
      environment: 'prod',
      status: 'WAVE_COMPLETED',
      wave: 0,
      hosts: 3,
      failed: 0,
    });
  });

  it('fails the verdict past the error budget and counts hosts with no final result as failed', async () => {
    const { ports } = await sent(hosts(2));
    const [a, b] = hosts(2) as [string, string];
    ports.fleet.results.set('cmd-0001', [
      { instanceId: a, status: 'Failed', statusDetails: 'Failed' },
      { instanceId: b, status: 'InProgress', statusDetails: 'InProgress' },
    ]);

    const state = await evaluateWave(ports, { state: stateOf({ hostCount: 2 }), phase: 'deploy' });

    expect(state).toMatchObject({ wave: 1, succeeded: 0, failed: 2, verdict: 'failed' });
    expect(state.reason).toMatch(/^wave 1: /);
    expect(await ports.waves.getHostResults(DEPLOYMENT_ID)).toMatchObject([
      { instanceId: a, status: 'Failed' },
      { instanceId: b, status: 'NoResult', statusDetails: 'still InProgress when the wait ended' },
    ]);
    expect(ports.audit.events.get(DEPLOYMENT_ID)?.at(-1)).toMatchObject({
      type: 'WaveFinished',
      failed: 2,
      failedHosts: [a, b],
      ok: false,
    });
  });

  it('announces a wave once when the evaluation is retried', async () => {
    const { ports } = await sent(hosts(1));

    await evaluateWave(ports, { state: stateOf({ hostCount: 1 }), phase: 'deploy' });
    await evaluateWave(ports, { state: stateOf({ hostCount: 1 }), phase: 'deploy' });

    expect(ports.events.statuses()).toEqual(['WAVE_STARTED', 'WAVE_COMPLETED']);
    expect(ports.audit.types(DEPLOYMENT_ID).filter((t) => t === 'WaveFinished')).toHaveLength(1);
  });

  it('ends a rollback ROLLED_BACK when every host went back, and ABORTED after an abort', async () => {
    const { ports } = await sent(hosts(2), { previousVersion: '1.2.2' }, 'rollback');

    const rolledBack = await evaluateWave(ports, { state: stateOf({ reason: 'wave 1 failed' }), phase: 'rollback' });
    const aborted = await evaluateWave(ports, { state: stateOf({ error: { Error: 'DeploymentAborted' } }), phase: 'rollback' });

    expect(rolledBack).toMatchObject({ outcome: 'ROLLED_BACK', reason: 'wave 1 failed; rolled back 2 hosts to 1.2.2' });
    expect(aborted.outcome).toBe('ABORTED');
    expect(await ports.waves.getWaveHosts(DEPLOYMENT_ID, ROLLBACK_WAVE)).toEqual(hosts(2));
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).rolledBack).toBe(2);
    expect(ports.audit.types(DEPLOYMENT_ID).filter((t) => t === 'RollbackFinished')).toHaveLength(1);
  });

  it('fails blue-green validation when a green host failed the validation command', async () => {
    const validationCommand = {
      document: 'AWS-RunShellScript' as const,
      parameters: { commands: ['curl -f localhost'] },
      timeoutSeconds: 60,
    };
    const { ports } = await sent(hosts(2), { strategy: { ...blueGreen, validationCommand } }, 'validate');
    ports.fleet.results.set('cmd-0002', [
      { instanceId: hosts(2)[0] as string, status: 'Success', statusDetails: 'Success' },
      { instanceId: hosts(2)[1] as string, status: 'Failed', statusDetails: 'Failed' },
    ]);

    const state = await evaluateWave(ports, { state: stateOf(), phase: 'validate' });

    expect(state).toMatchObject({ verdict: 'failed', reason: 'validation failed on 1 of 2 green hosts' });
    expect(await ports.waves.getWaves(DEPLOYMENT_ID)).toContainEqual(expect.objectContaining({ wave: VALIDATE_WAVE, failed: 1 }));
    expect(ports.audit.types(DEPLOYMENT_ID)).toContain('ValidationFinished');
  });
});
