import { z } from 'zod';
import { logger, task } from '../commons/powertools.ts';
import { ROLLBACK_WAVE, VALIDATE_WAVE } from '../core/records.ts';
import { commandFor, type DeploymentSpec } from '../core/spec.ts';
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
  phase: z.enum(['deploy', 'rollback', 'validate']),
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

    const { wave, command, hosts } = await target(deps, state, spec, phase);
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
        comment: `deployctl ${id} ${phase === 'deploy' ? `deploy wave ${wave + 1}` : phase}`.slice(0, 100),
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
    await deps.records.appendEvent(id, STARTED[phase].event, 'deployctl', { wave, hosts: hosts.length, commandIds }, now);
    await deps.events.put({
      detailType: 'Deployment Status Change',
      detail: {
        deploymentId: id,
        app: spec.app,
        environment: spec.environment,
        status: STARTED[phase].status,
        wave,
      },
    });
    logger.info('commands sent', { deploymentId: id, phase, wave, hosts: hosts.length, commands: commandIds.length });
    return settle();
  });
}

const STARTED = {
  deploy: { event: 'WaveStarted', status: 'WAVE_STARTED' },
  rollback: { event: 'RollbackStarted', status: 'ROLLING_BACK' },
  validate: { event: 'ValidationStarted', status: 'VALIDATING' },
} as const;

/** Which wave record, command and hosts a phase sends to. */
async function target(deps: Deps, state: DeploymentState, spec: DeploymentSpec, phase: 'deploy' | 'rollback' | 'validate') {
  const id = state.deploymentId;
  if (phase === 'validate') {
    // Blue-green's check of green before traffic moves; without a validation command there is nothing to send.
    const command = spec.strategy.type === 'blueGreen' ? spec.strategy.validationCommand : undefined;
    const hosts = command ? await deps.records.getWaveHosts(id, 0) : [];
    if (command) await deps.records.putWave(id, VALIDATE_WAVE, hosts);
    return { wave: VALIDATE_WAVE, command: command ?? spec.command, hosts };
  }
  const command = commandFor(spec, phase);
  if (!command) {
    throw new RollbackUnavailable(
      `no rollback possible for ${spec.app}/${spec.environment}: no previousVersion and no earlier successful release (give previousVersion or rollbackCommand)`,
    );
  }
  if (phase === 'deploy') return { wave: state.wave, command, hosts: await deps.records.getWaveHosts(id, state.wave) };
  return { wave: ROLLBACK_WAVE, command, hosts: await rollbackHosts(deps, state) };
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
