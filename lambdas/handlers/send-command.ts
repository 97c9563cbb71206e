import { z } from 'zod';
import { logger, task } from '../commons/powertools.ts';
import { ROLLBACK_WAVE } from '../core/records.ts';
import { commandFor } from '../core/spec.ts';
import { DeploymentState } from '../core/state.ts';
import { chunk, type Deps, SEND_COMMAND_LIMIT } from './deps.ts';

export class RollbackUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RollbackUnavailable';
  }
}

const Input = z.object({
  state: DeploymentState,
  taskToken: z.string().min(1),
  phase: z.enum(['deploy', 'rollback']),
});

/**
 * Sends a wave's command (or the rollback command to every host already
 * commanded) in SendCommand calls of at most 50 hosts, and stores the task
 * token by command id for the status callback. The execution then waits.
 */
export function createSendCommand(deps: Deps) {
  return task(async (event: unknown): Promise<{ commandIds: string[] }> => {
    const { state, taskToken, phase } = Input.parse(event);
    const id = state.deploymentId;
    const { spec } = await deps.records.getDeployment(id);
    const now = deps.clock.now();

    const wave = phase === 'deploy' ? state.wave : ROLLBACK_WAVE;
    // A retried invocation finds the commands it already sent and only stores the new token.
    const already = await deps.records.getWaveCommands(id, wave);
    if (already.length > 0) {
      await deps.records.putCommandTokens(id, wave, already, taskToken, now);
      logger.info('commands already sent; token refreshed', { deploymentId: id, wave, commandIds: already });
      return { commandIds: already };
    }

    let hosts: string[];
    if (phase === 'deploy') {
      hosts = await deps.records.getWaveHosts(id, wave);
    } else {
      hosts = [];
      for (let w = 0; w < state.waveCount; w++) {
        if ((await deps.records.getWaveCommands(id, w)).length > 0) hosts.push(...(await deps.records.getWaveHosts(id, w)));
      }
      await deps.records.putWave(id, wave, hosts);
    }
    const command = commandFor(spec, phase);
    if (!command) {
      throw new RollbackUnavailable(
        `no rollback possible for ${spec.app}/${spec.environment}: no previousVersion and no earlier successful release (give previousVersion or rollbackCommand)`,
      );
    }

    const commandIds: string[] = [];
    for (const batch of chunk(hosts, SEND_COMMAND_LIMIT)) {
      commandIds.push(
        await deps.fleet.send({
          instanceIds: batch,
          document: command.document,
          parameters: command.parameters,
          timeoutSeconds: command.timeoutSeconds,
          comment: `deployctl ${id} ${phase} wave ${phase === 'deploy' ? wave + 1 : 'rollback'}`.slice(0, 100),
        }),
      );
    }
    await deps.records.putCommandTokens(id, wave, commandIds, taskToken, now);
    if (phase === 'deploy') await deps.records.updateDeployment(id, { currentWave: wave }, now);
    await deps.records.appendEvent(
      id,
      phase === 'deploy' ? 'WaveStarted' : 'RollbackStarted',
      'deployctl',
      { wave, hosts: hosts.length, commandIds },
      now,
    );
    await deps.events.put({
      detailType: 'Deployment Status Change',
      detail: {
        deploymentId: id,
        app: spec.app,
        environment: spec.environment,
        status: phase === 'deploy' ? 'WAVE_STARTED' : 'ROLLING_BACK',
        wave,
      },
    });
    logger.info('commands sent', { deploymentId: id, phase, wave, hosts: hosts.length, commands: commandIds.length });
    return { commandIds };
  });
}
