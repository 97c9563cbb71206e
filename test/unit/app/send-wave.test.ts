import { describe, expect, it } from 'vitest';
import { sendWave } from '#app/send-wave.ts';
import { RollbackUnavailable } from '#core/errors.ts';
import { ROLLBACK_WAVE } from '#core/records.ts';
import { DEPLOY_DOCUMENT } from '#core/spec.ts';
import { commentFor } from '#core/waves.ts';
import { DEPLOYMENT_ID, hosts, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const TOKEN = 'token-1';

describe('sendWave', () => {
  it('sends a wave in commands of at most 50 hosts, stores the token under each and announces WAVE_STARTED', async () => {
    const { ports } = await runningDeployment();
    await ports.waves.putWave(DEPLOYMENT_ID, 0, hosts(120));

    const { commandIds } = await sendWave(ports, { state: stateOf(), taskToken: TOKEN, phase: 'deploy' });

    expect(ports.fleet.sent.map((s) => s.instanceIds.length)).toEqual([50, 50, 20]);
    expect(ports.fleet.sent[0]).toMatchObject({ document: DEPLOY_DOCUMENT, comment: `deployctl wave 1 batch 1/3 ${DEPLOYMENT_ID}` });
    expect(commandIds).toEqual(ports.fleet.sent.map((s) => s.commandId));
    for (const id of commandIds) expect(ports.waves.tokens.get(id)?.token).toBe(TOKEN);
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).currentWave).toBe(0);
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'WaveStarted', wave: 0, hosts: 120, commandIds }]);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: { deploymentId: DEPLOYMENT_ID, app: 'web', environment: 'prod', status: 'WAVE_STARTED', wave: 0 },
      },
    ]);
    expect(ports.callbacks.answers).toEqual([]);
  });

  it('sends nothing twice when retried, and gives the commands the retry token', async () => {
    const { ports } = await runningDeployment();
    await ports.waves.putWave(DEPLOYMENT_ID, 0, hosts(3));
    await sendWave(ports, { state: stateOf(), taskToken: TOKEN, phase: 'deploy' });

    const { commandIds } = await sendWave(ports, { state: stateOf(), taskToken: 'token-2', phase: 'deploy' });

    expect(ports.fleet.sent).toHaveLength(1);
    expect(ports.waves.tokens.get(commandIds[0] as string)?.token).toBe('token-2');
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['WaveStarted']);
    expect(ports.events.statuses()).toEqual(['WAVE_STARTED']);
  });

  it('finds the command an attempt sent before dying instead of sending it again', async () => {
    const { ports } = await runningDeployment();
    await ports.waves.putWave(DEPLOYMENT_ID, 0, hosts(3));
    await ports.waves.markSending(DEPLOYMENT_ID, 0, 0, ports.clock.now());
    const earlier = await ports.fleet.send({
      instanceIds: hosts(3),
      document: DEPLOY_DOCUMENT,
      parameters: {},
      timeoutSeconds: 600,
      comment: commentFor(DEPLOYMENT_ID, 'deploy', 0, 0, 1),
    });

    const { commandIds } = await sendWave(ports, { state: stateOf(), taskToken: TOKEN, phase: 'deploy' });

    expect(commandIds).toEqual([earlier]);
    expect(ports.fleet.sent).toHaveLength(1);
  });

  it('wakes the execution itself when the wave has no hosts', async () => {
    const { ports } = await runningDeployment();
    await ports.waves.putWave(DEPLOYMENT_ID, 0, []);

    await sendWave(ports, { state: stateOf(), taskToken: TOKEN, phase: 'deploy' });

    expect(ports.callbacks.answers).toEqual([{ token: TOKEN, output: { commandIds: [], settled: true } }]);
  });

  it('refuses a rollback with RollbackUnavailable when there is no version to go back to', async () => {
    const { ports } = await runningDeployment();

    await expect(sendWave(ports, { state: stateOf(), taskToken: TOKEN, phase: 'rollback' })).rejects.toBeInstanceOf(RollbackUnavailable);
    expect(ports.fleet.sent).toEqual([]);
  });

  it('rolls back the hosts of every sent wave except those the deploy never reached, and announces ROLLING_BACK', async () => {
    const { ports } = await runningDeployment({ previousVersion: '1.2.2' });
    const [a, b, c] = hosts(3) as [string, string, string];
    await ports.waves.putWave(DEPLOYMENT_ID, 0, [a, b]);
    await ports.waves.putWave(DEPLOYMENT_ID, 1, [c]);
    await sendWave(ports, { state: stateOf({ waveCount: 2 }), taskToken: TOKEN, phase: 'deploy' });
    await ports.waves.putHostResults(
      DEPLOYMENT_ID,
      [
        {
          instanceId: b,
          wave: 0,
          phase: 'deploy',
          status: 'Undeliverable',
          statusDetails: 'offline',
          commandId: 'cmd-0001',
          version: '1.2.3',
        },
      ],
      ports.clock.now(),
    );

    await sendWave(ports, { state: stateOf({ waveCount: 2 }), taskToken: TOKEN, phase: 'rollback' });

    expect(ports.fleet.sent[1]).toMatchObject({ instanceIds: [a], parameters: { version: ['1.2.2'], action: ['rollback'] } });
    expect(await ports.waves.getWaveHosts(DEPLOYMENT_ID, ROLLBACK_WAVE)).toEqual([a]);
    expect(ports.events.statuses()).toEqual(['WAVE_STARTED', 'ROLLING_BACK']);
  });
});
