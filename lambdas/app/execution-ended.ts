import { type ClosePorts, closeDeployment } from '#app/close.ts';
import { logger } from '#commons/powertools.ts';
import { RecordNotFound } from '#core/errors.ts';
import { type DeploymentRecord, type DeploymentStatus, TERMINAL_STATUSES } from '#core/records.ts';
import { reasonOf } from '#core/state.ts';
import type { Ports } from '#ports';

/** What Step Functions says of an ended execution ("Step Functions Execution Status Change"). */
export interface ExecutionEnd {
  readonly executionArn: string;
  readonly name: string;
  readonly status: string;
  /** The execution input as a JSON string; null when too large to include. */
  readonly input?: string | null | undefined;
  readonly cause?: string | null | undefined;
  readonly error?: string | null | undefined;
}

export type ExecutionStatusResult =
  | { readonly finalized: true; readonly status: DeploymentStatus }
  | { readonly finalized: false; readonly lockReleased?: boolean };

/** Execution statuses that end an execution without a guarantee that Finalize ran. */
const ENDED: Readonly<Record<string, DeploymentStatus>> = { ABORTED: 'ABORTED', TIMED_OUT: 'FAILED', FAILED: 'FAILED' };

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
export async function executionEnded(ports: ClosePorts & Pick<Ports, 'clock'>, detail: ExecutionEnd): Promise<ExecutionStatusResult> {
  const status = ENDED[detail.status];
  if (!status) return { finalized: false };
  const id = deploymentIdOf(detail);
  logger.appendKeys({ deploymentId: id, executionArn: detail.executionArn, executionStatus: detail.status });

  const found = await findDeployment(ports, id);
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
    const lockReleased = await ports.locks.releaseLock(spec.app, spec.environment, id);
    logger.info('the deployment was finalized already', { status: found.status, lockReleased });
    return { finalized: false, lockReleased };
  }

  const reason = reasonFor(detail);
  const record = await closeDeployment(
    ports,
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
    ports.clock.now(),
  );
  logger.info('deployment finalized after its execution ended', { status: record.status, reason });
  return { finalized: true, status: record.status };
}

/** The spec's deploymentId when the input carries one, otherwise the execution name (as the start chooses). */
function deploymentIdOf(detail: ExecutionEnd): string {
  if (!detail.input) return detail.name;
  try {
    const parsed: unknown = JSON.parse(detail.input);
    const id = (parsed as { deploymentId?: unknown } | null)?.deploymentId;
    return typeof id === 'string' && id.length > 0 ? id : detail.name;
  } catch {
    return detail.name; // not JSON: the start rejected it too
  }
}

async function findDeployment(ports: Pick<Ports, 'deployments'>, id: string): Promise<DeploymentRecord | undefined> {
  try {
    return await ports.deployments.getDeployment(id);
  } catch (error) {
    if (error instanceof RecordNotFound) return undefined;
    throw error;
  }
}

function reasonFor(detail: ExecutionEnd): string {
  switch (detail.status) {
    case 'ABORTED':
      return `execution stopped (StopExecution)${detail.cause ? `: ${detail.cause}` : ''}`;
    case 'TIMED_OUT':
      return 'execution timed out';
    default:
      return `execution failed: ${detail.error ? reasonOf({ Error: detail.error, Cause: detail.cause ?? undefined }) : (detail.cause ?? 'no error given')}`;
  }
}
