import * as z from 'zod';
import { logger, task } from '../commons/powertools.ts';
import type { Deps } from './deps.ts';

/** The "EC2 Command Status-change Notification" event SSM puts on EventBridge. */
const SsmCommandEvent = z.object({
  'detail-type': z.literal('EC2 Command Status-change Notification'),
  detail: z.object({ 'command-id': z.string().min(1), status: z.string() }),
});

const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);
/** Errors that mean the execution stopped waiting already: nothing to wake. */
const STALE_TOKEN = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

/**
 * Wakes the waiting execution when the last command of a wave has finished.
 * It only wakes: the evaluation reads the hosts' results itself.
 */
export function createCommandCallback(deps: Deps) {
  return task(async (event: unknown): Promise<{ woke: boolean }> => {
    const { detail } = SsmCommandEvent.parse(event);
    const commandId = detail['command-id'];
    if (!TERMINAL.has(detail.status)) return { woke: false };
    const completion = await deps.waves.completeCommand(commandId);
    logger.info('command finished', {
      commandId,
      status: detail.status,
      deploymentId: completion.deploymentId,
      wave: completion.wave,
      waveDone: completion.waveDone,
    });
    if (!completion.waveDone) return { woke: false };
    try {
      await deps.callbacks.succeed(completion.token, { commandId, status: detail.status });
    } catch (error) {
      if (error instanceof Error && STALE_TOKEN.has(error.name)) {
        logger.warn('the execution no longer waits for this wave', { commandId, error: error.name });
        return { woke: false };
      }
      throw error;
    }
    return { woke: true };
  });
}
