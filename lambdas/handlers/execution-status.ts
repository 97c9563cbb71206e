import * as z from 'zod';
import { RecordNotFound } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import { type DeploymentRecord, type DeploymentStatus, TERMINAL_STATUSES } from '../core/records.ts';
import { reasonOf } from '../core/state.ts';
import { closeDeployment } from './close-deployment.ts';
import type { Deps } from './deps.ts';

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
type ExecutionDetail = z.infer<typeof ExecutionStatusEvent>['detail'];

/** The one field of the execution input (the spec) this handler reads. */
const SpecId = z.object({ deploymentId: z.string().min(1) });

/** Execution statuses that end an execution without a guarantee that Finalize ran. */
const ENDED: Readonly<Record<string, DeploymentStatus>> = { ABORTED: 'ABORTED', TIMED_OUT: 'FAILED', FAILED: 'FAILED' };

export type ExecutionStatusResult =
  | { readonly finalized: true; readonly status: DeploymentStatus }
  | { readonly finalized: false; readonly lockReleased?: boolean };

/**
 * Finalizes a deployment whose execution ended (ABORTED, TIMED_OUT, FAILED)
 * without reaching the Finalize state: the terminal status, the release
 * history entry, the lock released, and the "Deployment Status Change" event.
 * A record the state machine finalized itself is left as it is, but its lock
 * is released if this deployment still holds it; so a second delivery of the
 * same event is a no-op.
 *
 * Hosts already changed are NOT rolled back here: that is a separate,
 * explicit rollback.
 */
export function createExecutionStatus(deps: Deps) {
  return task(async (event: unknown): Promise<ExecutionStatusResult> => {
    const { detail } = ExecutionStatusEvent.parse(event);
    const status = ENDED[detail.status];
    if (!status) return { finalized: false };
    const id = deploymentIdOf(detail);
    logger.appendKeys({ deploymentId: id, executionArn: detail.executionArn, executionStatus: detail.status });

    const found = await findDeployment(deps, id);
    if (!found) {
      logger.info('the execution recorded no deployment: nothing to finalize');
      return { finalized: false };
    }
    if (found.executionName !== undefined && found.executionName !== detail.name) {
      // e.g. a second execution reusing the id was refused (DeploymentExists): the record is not its own.
      logger.warn('the deployment record belongs to another execution: left as it is', { recordExecution: found.executionName });
      return { finalized: false };
    }
    const { spec } = found;
    if (TERMINAL_STATUSES.includes(found.status)) {
      const lockReleased = await deps.locks.releaseLock(spec.app, spec.environment, id);
      logger.info('the deployment was finalized already', { status: found.status, lockReleased });
      return { finalized: false, lockReleased };
    }

    const reason = reasonFor(detail);
    const now = deps.clock.now();
    const record = await closeDeployment(
      deps,
      id,
      {
        status,
        reason,
        event: {
          type: 'ExecutionEnded',
          actor: 'stepfunctions',
          detail: { status: detail.status, error: detail.error ?? null, cause: detail.cause ?? null },
        },
      },
      now,
    );
    logger.info('deployment finalized after its execution ended', { status: record.status, reason });
    return { finalized: true, status: record.status };
  });
}

/** The spec's deploymentId when the input carries one, otherwise the execution name (as validate-spec chooses). */
function deploymentIdOf(detail: ExecutionDetail): string {
  if (!detail.input) return detail.name;
  try {
    const parsed = SpecId.safeParse(JSON.parse(detail.input));
    return parsed.success ? parsed.data.deploymentId : detail.name;
  } catch {
    return detail.name; // not JSON: validate-spec rejected it too
  }
}

async function findDeployment(deps: Deps, id: string): Promise<DeploymentRecord | undefined> {
  try {
    return await deps.deployments.getDeployment(id);
  } catch (error) {
    if (error instanceof RecordNotFound) return undefined;
    throw error;
  }
}

function reasonFor(detail: ExecutionDetail): string {
  switch (detail.status) {
    case 'ABORTED':
      return `execution stopped (StopExecution)${detail.cause ? `: ${detail.cause}` : ''}`;
    case 'TIMED_OUT':
      return 'execution timed out';
    default:
      return `execution failed: ${detail.error ? reasonOf({ Error: detail.error, Cause: detail.cause ?? undefined }) : (detail.cause ?? 'no error given')}`;
  }
}
