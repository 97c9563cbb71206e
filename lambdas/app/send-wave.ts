import { createJournal } from '#app/journal.ts';
import { logger } from '#commons/powertools.ts';
import { RollbackUnavailable } from '#core/errors.ts';
import { chunk, SEND_COMMAND_LIMIT } from '#core/limits.ts';
import { ROLLBACK_WAVE, VALIDATE_WAVE } from '#core/records.ts';
import { commandFor, type DeploymentSpec } from '#core/spec.ts';
import type { DeploymentState } from '#core/state.ts';
import { NOT_DELIVERED } from '#core/thresholds.ts';
import { commentFor, type Phase, STARTED } from '#core/waves.ts';
import type { Ports } from '#ports';

export type SendWavePorts = Pick<Ports, 'deployments' | 'waves' | 'fleet' | 'audit' | 'events' | 'callbacks' | 'clock'>;

/** A wave (or the rollback, or blue-green's validation) to send, and the task token its wait will be woken with. */
export interface SendWaveRequest {
  readonly state: DeploymentState;
  readonly taskToken: string;
  readonly phase: Phase;
}

/** How far apart the Lambda's and SSM's clocks may be when looking for a command sent earlier. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Sends a wave's command (or the rollback command to every host already
 * commanded) in SendCommand calls of at most 50 hosts, and stores the task
 * token by command id for the status callback. The execution then waits. A
 * retry resumes after the batches an earlier attempt sent and sends nothing twice.
 */
export async function sendWave(ports: SendWavePorts, request: SendWaveRequest): Promise<{ commandIds: string[] }> {
  const { state, taskToken, phase } = request;
  const id = state.deploymentId;
  const { spec } = await ports.deployments.getDeployment(id);
  const now = ports.clock.now();

  const { wave, command, hosts } = await target(ports, state, spec, phase);
  const batches = chunk(hosts, SEND_COMMAND_LIMIT);
  // A retried invocation (a crash, a timeout, throttling) resumes after the batches an earlier attempt sent.
  const sending = await ports.waves.getWaveSending(id, wave);
  const commandIds = [...sending.commandIds];
  for (let b = commandIds.length; b < batches.length; b++) {
    const batch = batches[b] as string[];
    const comment = commentFor(id, phase, wave, b, batches.length);
    // An earlier attempt may have died between SendCommand and storing its id: ask SSM before sending again.
    const intent = sending.sending?.batch === b ? sending.sending : undefined;
    const found = intent
      ? await ports.fleet.findCommand({
          instanceId: batch[0] as string,
          document: command.document,
          comment,
          after: new Date(Date.parse(intent.at) - CLOCK_SKEW_MS),
        })
      : undefined;
    if (found) logger.warn('found the command an earlier attempt sent; not sending it again', { deploymentId: id, wave, batch: b });
    if (!found) await ports.waves.markSending(id, wave, b, now);
    const commandId =
      found ??
      (await ports.fleet.send({
        instanceIds: batch,
        document: command.document,
        parameters: command.parameters,
        timeoutSeconds: command.timeoutSeconds,
        comment,
      }));
    if (!(await ports.waves.addWaveCommand(id, wave, b, commandId, now))) {
      throw new Error(`batch ${b + 1} of wave ${wave + 1} was stored by a concurrent attempt; retrying`);
    }
    await ports.waves.putCommandToken(id, wave, commandId, taskToken, now);
    commandIds.push(commandId);
  }
  // The commands of earlier attempts get this attempt's token too; then the wave counts as fully sent.
  const { waveDone } = await ports.waves.putCommandTokens(id, wave, sending.commandIds, taskToken, now);
  // The audit event and the status event once per wave and phase, however often this task is retried.
  const first = await createJournal(ports).announce(
    {
      deploymentId: id,
      once: `${STARTED[phase].event}#${wave}`,
      event: { type: STARTED[phase].event, actor: 'deployctl', detail: { wave, hosts: hosts.length, commandIds } },
      status: { app: spec.app, environment: spec.environment, status: STARTED[phase].status, wave },
    },
    now,
  );
  if (first) {
    if (phase === 'deploy') await ports.deployments.updateDeployment(id, { currentWave: wave }, now);
    logger.info('commands sent', { deploymentId: id, phase, wave, hosts: hosts.length, commands: commandIds.length });
  } else {
    logger.info('retried send: nothing sent twice; token refreshed', { deploymentId: id, phase, wave, commands: commandIds.length });
  }
  // Nothing to wait for (no hosts), or every command finished before this token was stored:
  // no status event will wake the execution, so this call does.
  if (commandIds.length === 0 || waveDone) await ports.callbacks.succeed(taskToken, { commandIds, settled: true });
  return { commandIds };
}

/** Which wave record, command and hosts a phase sends to. */
async function target(ports: Pick<Ports, 'waves'>, state: DeploymentState, spec: DeploymentSpec, phase: Phase) {
  const id = state.deploymentId;
  if (phase === 'validate') {
    // Blue-green's check of green before traffic moves; without a validation command there is nothing to send.
    const command = spec.strategy.type === 'blueGreen' ? spec.strategy.validationCommand : undefined;
    const hosts = command ? await ports.waves.getWaveHosts(id, 0) : [];
    if (command) await ports.waves.putWave(id, VALIDATE_WAVE, hosts);
    return { wave: VALIDATE_WAVE, command: command ?? spec.command, hosts };
  }
  const command = commandFor(spec, phase);
  if (!command) {
    throw new RollbackUnavailable(
      `no rollback possible for ${spec.app}/${spec.environment}: no previousVersion and no earlier successful release (give previousVersion or rollbackCommand)`,
    );
  }
  if (phase === 'deploy') return { wave: state.wave, command, hosts: await ports.waves.getWaveHosts(id, state.wave) };
  return { wave: ROLLBACK_WAVE, command, hosts: await rollbackHosts(ports, state) };
}

/**
 * The hosts a rollback commands: those of every wave that was sent, except
 * hosts the deploy command provably never reached (an offline agent: nothing
 * changed there, and a rollback would only time out on it too). Fixed once, so
 * a retry sends the same chunks.
 */
async function rollbackHosts(ports: Pick<Ports, 'waves'>, state: DeploymentState): Promise<string[]> {
  const id = state.deploymentId;
  const stored = await ports.waves.getWaveHosts(id, ROLLBACK_WAVE);
  if (stored.length > 0) return stored;
  const untouched = new Set(
    (await ports.waves.getHostResults(id)).filter((r) => r.phase === 'deploy' && NOT_DELIVERED.has(r.status)).map((r) => r.instanceId),
  );
  const hosts: string[] = [];
  for (let w = 0; w < state.waveCount; w++) {
    if ((await ports.waves.getWaveCommands(id, w)).length > 0) {
      hosts.push(...(await ports.waves.getWaveHosts(id, w)).filter((h) => !untouched.has(h)));
    }
  }
  await ports.waves.putWave(id, ROLLBACK_WAVE, hosts);
  return hosts;
}
