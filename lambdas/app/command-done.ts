import { logger } from '#commons/powertools.ts';
import { isClosedToken } from '#core/errors.ts';
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
 */
export async function commandFinished(ports: Pick<Ports, 'waves' | 'callbacks'>, change: CommandStatus): Promise<{ woke: boolean }> {
  const { commandId, status } = change;
  if (!TERMINAL.has(status)) return { woke: false };
  const completion = await ports.waves.completeCommand(commandId);
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
