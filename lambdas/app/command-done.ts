import { logger } from '#commons/powertools.ts';
import { isClosedToken, TokenNotFound } from '#core/errors.ts';
import type { Ports } from '#ports';

/** SSM command statuses that end a command. */
const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

/** A command's status change, as SSM reports it. */
export interface CommandStatus {
  readonly commandId: string;
  readonly status: string;
}

/**
 * Records a finished command and wakes the waiting execution when it was the
 * last of its wave. It only wakes: the evaluation reads the hosts' results
 * itself. A token the execution no longer waits on wakes nothing.
 *
 * A command without a stored token is ignored: deployctl did not send it
 * (Patch Manager, other automation, a person at the console), or it finished
 * in the short window between SendCommand and storing the token. The second
 * case is covered by the wave's wait: its timeout, then the evaluation reads
 * every host's result itself. Throwing would only have Lambda retry the event
 * twice and page on the function's error alarm.
 */
export async function commandFinished(
  ports: Pick<Ports, 'waves' | 'callbacks'>,
  change: CommandStatus,
): Promise<{ woke: boolean; unknown?: true }> {
  const { commandId, status } = change;
  if (!TERMINAL.has(status)) return { woke: false };
  let completion: Awaited<ReturnType<typeof ports.waves.completeCommand>>;
  try {
    completion = await ports.waves.completeCommand(commandId);
  } catch (error) {
    if (!(error instanceof TokenNotFound)) throw error;
    logger.debug('no task token stored for this command: not one deployctl waits on; ignored', { commandId, status });
    return { woke: false, unknown: true };
  }
  logger.info('command finished', {
    commandId,
    status,
    deploymentId: completion.deploymentId,
    wave: completion.wave,
    waveDone: completion.waveDone,
  });
  if (!completion.waveDone) return { woke: false };
  try {
    await ports.callbacks.succeed(completion.token, { commandId, status });
  } catch (error) {
    if (isClosedToken(error)) {
      logger.warn('the execution no longer waits for this wave', { commandId, error: (error as Error).name });
      return { woke: false };
    }
    throw error;
  }
  return { woke: true };
}
