import * as z from 'zod';
import type { ClosePorts } from '#app/close.ts';
import { executionEnded } from '#app/execution-ended.ts';
import { parsedTask } from '#commons/powertools.ts';
import type { Ports } from '#ports';

export type { ExecutionStatusResult } from '#app/execution-ended.ts';

/** The "Step Functions Execution Status Change" event Step Functions puts on EventBridge. */
const ExecutionStatusEvent = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  source: z.literal('aws.states'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.string().min(1),
    /** The execution input as a JSON string; null when too large to include. */
    input: z.string().nullish(),
    cause: z.string().nullish(),
    error: z.string().nullish(),
  }),
});

/**
 * Finalizes a deployment whose execution ended (ABORTED, TIMED_OUT, FAILED)
 * without reaching the Finalize state; a second delivery is a no-op.
 */
export function createExecutionStatus(ports: ClosePorts & Pick<Ports, 'clock'>) {
  return parsedTask(ExecutionStatusEvent, ({ detail }) => executionEnded(ports, detail));
}
