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
    const command = commandFor(spec, phase);
    if (!command) {
      throw new RollbackUnavailable(
        `no rollback possible for ${spec.app}/${spec.environment}: no previousVersion and no earlier successful release (give previousVersion or rollbackCommand)`,
      );
    }
    const hosts = phase === 'deploy' ? await deps.records.getWaveHosts(id, wave) : await rollbackHosts(deps, state);

    // A retried invocation resumes after the chunks an earlier attempt already sent.
    const commandIds = await deps.records.getWaveCommands(id, wave);
    const resumed = commandIds.length > 0;
    const batches = chunk(hosts, SEND_COMMAND_LIMIT);
    for (const batch of batches.slice(commandIds.length)) {
      const commandId = await deps.fleet.send({
        instanceIds: batch,
        document: command.document,
        parameters: command.parameters,
        timeoutSeconds: command.timeoutSeconds,
        comment: `deployctl ${id} ${phase} wave ${phase === 'deploy' ? wave + 1 : 'rollback'}`.slice(0, 100),
      });
      await deps.records.addWaveCommand(id, wave, commandId, now);
      commandIds.push(commandId);
    }
    const { waveDone } = await deps.records.putCommandTokens(id, wave, commandIds, taskToken, now);
    // Nothing to wait for (no hosts), or every command finished before this token was stored:
    // no status event will wake the execution, so this call does.
    const settle = async () => {
      if (commandIds.length === 0 || waveDone) await deps.callbacks.succeed(taskToken, { commandIds, settled: true });
      return { commandIds };
    };
    if (resumed) {
      logger.info('resumed sending; token refreshed', { deploymentId: id, wave, commandIds });
      return settle();
    }
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
    return settle();
  });
}

/** The hosts a rollback commands: those of every wave that was sent, fixed once so a retry sends the same chunks. */
async function rollbackHosts(deps: Deps, state: DeploymentState): Promise<string[]> {
  const id = state.deploymentId;
  const stored = await deps.records.getWaveHosts(id, ROLLBACK_WAVE);
  if (stored.length > 0) return stored;
  const hosts: string[] = [];
  for (let w = 0; w < state.waveCount; w++) {
    if ((await deps.records.getWaveCommands(id, w)).length > 0) hosts.push(...(await deps.records.getWaveHosts(id, w)));
  }
  await deps.records.putWave(id, ROLLBACK_WAVE, hosts);
  return hosts;
}
