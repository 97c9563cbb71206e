import { logger } from '#commons/powertools.ts';
import type { ControlRequest } from '#core/api-contract.ts';
import { ControlRefused, isClosedToken } from '#core/errors.ts';
import type { DeploymentRecord, Gate } from '#core/records.ts';
import type { Ports } from '#ports';

export type ControlPorts = Pick<Ports, 'deployments' | 'audit' | 'callbacks' | 'clock'>;

export interface ControlResult {
  readonly deploymentId: string;
  readonly action: ControlRequest['action'];
  readonly message: string;
}

const ACTIVE = new Set(['PENDING', 'RUNNING']);

/**
 * approve / reject / abort / pause / resume of a running deployment. Each is
 * recorded with who asked; the ones that wake a waiting execution use the
 * task token its gate stored. The API, the CLI and the control function all come through here.
 */
export async function controlDeployment(ports: ControlPorts, request: ControlRequest): Promise<ControlResult> {
  const { deploymentId: id, action, by, comment } = request;
  const record = await ports.deployments.getDeployment(id);
  if (!ACTIVE.has(record.status)) {
    throw new ControlRefused(`deployment ${id} is ${record.status}; only a running deployment can be told to ${action}`);
  }
  const now = ports.clock.now();
  const at = now.toISOString();
  const detail = { wave: record.gate?.wave ?? record.currentWave ?? 0, ...(comment ? { comment } : {}) };
  let message: string;
  switch (action) {
    case 'approve':
    case 'reject': {
      const gate = awaitedGate(record, 'approval', action);
      await takeGate(ports, id, gate, now);
      await ports.audit.appendEvent(id, action === 'approve' ? 'Approved' : 'Rejected', by, detail, now);
      const wave = `wave ${gate.wave + 1}`;
      await answered(
        action === 'approve'
          ? ports.callbacks.succeed(gate.token, { approvedBy: by })
          : ports.callbacks.fail(gate.token, 'ApprovalRejected', `${wave} rejected by ${by}${comment ? `: ${comment}` : ''}`),
      );
      message = `${wave} ${action === 'approve' ? 'approved' : 'rejected'} by ${by}`;
      break;
    }
    case 'abort': {
      await ports.deployments.updateDeployment(id, { control: { action: 'ABORT', by, at, ...(comment ? { comment } : {}) } }, now);
      await ports.audit.appendEvent(id, 'AbortRequested', by, detail, now);
      // Waiting at a gate is a safe point already: stop waiting now.
      if (record.gate) {
        await takeGate(ports, id, record.gate, now);
        await answered(ports.callbacks.fail(record.gate.token, 'DeploymentAborted', `aborted by ${by}${comment ? `: ${comment}` : ''}`));
      }
      message = record.gate ? 'aborted; rolling back the changed hosts' : 'abort requested; it takes effect after the current wave';
      break;
    }
    case 'pause': {
      if (record.control?.action === 'ABORT') throw new ControlRefused(`deployment ${id} is being aborted`);
      if (record.control?.action === 'PAUSE') throw new ControlRefused(`deployment ${id} is paused already`);
      await ports.deployments.updateDeployment(id, { control: { action: 'PAUSE', by, at, ...(comment ? { comment } : {}) } }, now);
      await ports.audit.appendEvent(id, 'PauseRequested', by, detail, now);
      message = 'pause requested; it holds before the next wave';
      break;
    }
    case 'resume': {
      if (record.control?.action !== 'PAUSE') throw new ControlRefused(`deployment ${id} is not paused`);
      await ports.deployments.updateDeployment(id, { control: null }, now);
      await ports.audit.appendEvent(id, 'Resumed', by, detail, now);
      if (record.gate?.kind === 'resume') {
        await takeGate(ports, id, record.gate, now);
        await answered(ports.callbacks.succeed(record.gate.token, { resumedBy: by }));
      }
      message = 'resumed';
      break;
    }
  }
  logger.info('control applied', { deploymentId: id, action, by });
  return { deploymentId: id, action, message };
}

/**
 * Clears the gate only if it is still the one read: of two answers to the same
 * gate (two approvers, a retried webhook), one wins and the other is refused.
 */
async function takeGate(ports: Pick<Ports, 'deployments'>, id: string, gate: Gate, now: Date): Promise<void> {
  if (!(await ports.deployments.clearGate(id, gate.token, now))) {
    throw new ControlRefused(`deployment ${id} was answered by someone else a moment ago; look at its status`);
  }
}

/** A token the execution no longer waits on (it timed out or ended) is a refusal, not a fault. */
async function answered(callback: Promise<void>): Promise<void> {
  try {
    await callback;
  } catch (error) {
    if (isClosedToken(error)) {
      throw new ControlRefused('the execution no longer waits for this answer (it ended or timed out)', { cause: error });
    }
    throw error;
  }
}

function awaitedGate(record: DeploymentRecord, kind: 'approval', action: string) {
  const gate = record.gate;
  if (gate?.kind !== kind) {
    throw new ControlRefused(`deployment ${record.deploymentId} is not waiting for an approval; nothing to ${action}`);
  }
  return gate;
}
