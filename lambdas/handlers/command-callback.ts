import * as z from 'zod';
import { commandFinished } from '#app/command-done.ts';
import { parsedTask } from '#commons/powertools.ts';
import type { Ports } from '#ports';

/** The "EC2 Command Status-change Notification" event SSM puts on EventBridge. */
const SsmCommandEvent = z.object({
  'detail-type': z.literal('EC2 Command Status-change Notification'),
  detail: z.object({ 'command-id': z.string().min(1), status: z.string() }),
});

/**
 * Wakes the waiting execution when the last command of a wave has finished.
 * It only wakes: the evaluation reads the hosts' results itself.
 */
export function createCommandCallback(ports: Pick<Ports, 'waves' | 'callbacks'>) {
  return parsedTask(SsmCommandEvent, ({ detail }) => commandFinished(ports, { commandId: detail['command-id'], status: detail.status }));
}
