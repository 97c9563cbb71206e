import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type ControlResult, controlDeployment } from '#app/control.ts';
import type { ControlRequest } from '#core/api-contract.ts';
import { IdTaken, Locked, RecordNotFound, SpecRejected, UnknownStrategy } from '#core/errors.ts';
import type { DeploymentRecord } from '#core/records.ts';
import { FAN_OUT_MACHINE, isMultiRegion } from '#core/regions.ts';
import { manualRollbackSpec } from '#core/rollback.ts';
import { DeploymentSpec, toFieldErrors } from '#core/spec.ts';
import type { Ports } from '#ports';
import { createQueries } from './queries.ts';

/** The facade's answers and limits, for its callers (the API handler, the CLI). */
export { type DeploymentLogs, type DeploymentView, type ListPage, MAX_PAGE_SIZE } from './queries.ts';

/** What the deployment service talks to: the records, the executions it starts, task tokens (control) and the clock. */
export type ServicePorts = Pick<Ports, 'deployments' | 'locks' | 'waves' | 'audit' | 'releases' | 'executions' | 'callbacks' | 'clock'>;

/** What a start answers. */
export interface StartResult {
  readonly deploymentId: string;
  readonly strategy: string;
  /** False when the request repeated one already started (same id, same deployment). */
  readonly started: boolean;
  readonly executionArn?: string;
  /** The record's status when the request was a repeat. */
  readonly status?: DeploymentRecord['status'];
}

/** Who asked, and the id to use when the spec gives none. */
export interface StartOptions {
  /** The authenticated caller, recorded as requestedBy in place of the spec's (the API passes the IAM identity). */
  readonly requestedBy?: string;
  /** The deployment id to use when the spec gives none (an Idempotency-Key header, for instance). */
  readonly idempotencyKey?: string;
}

/**
 * What the API, the CLI and the pipeline and schedule triggers share: start,
 * read, list, steer and roll back deployments. The same code runs over the
 * AWS adapters (API Lambda, CLI against AWS) and the local ones (`--local`,
 * `serve --local`). The reads are the queries of `./queries.ts`.
 */
export function createDeploymentService(ports: ServicePorts) {
  /** Starts a deployment; a repeat of one already started starts nothing new. */
  async function start(input: unknown, options: StartOptions = {}): Promise<StartResult> {
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new SpecRejected([{ field: '(spec)', message: 'the spec must be a JSON object' }]);
    }
    const raw = input as Record<string, unknown>;
    const deploymentId = (typeof raw.deploymentId === 'string' ? raw.deploymentId : undefined) ?? options.idempotencyKey ?? randomUUID();
    // An authenticated caller (the API's IAM identity) is who asked, whatever the body says.
    const request = { ...raw, deploymentId, ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) };
    const parsed = DeploymentSpec.safeParse(request);
    if (!parsed.success) throw new SpecRejected(toFieldErrors(parsed.error), { cause: parsed.error });
    const spec = parsed.data;
    const strategy = spec.strategy.type;

    const existing = await startChecks(ports, spec, deploymentId, ports.clock.now());
    if (existing) {
      if (!sameDeployment(existing, spec)) {
        throw new IdTaken(
          `deployment id ${deploymentId} is taken by another deployment (${existing.spec.app} ${existing.spec.version} to ${existing.spec.environment}); give a new deploymentId`,
        );
      }
      return { deploymentId, strategy, started: false, status: existing.status };
    }
    // The execution name is the deployment id: StartExecution with the same name and input answers the same execution.
    // A spec with regions runs on the control region's fan-out machine, which starts each region's strategy.
    const { executionArn } = await ports.executions
      .start(isMultiRegion(spec) ? FAN_OUT_MACHINE : strategy, deploymentId, request)
      .catch((error: unknown) => {
        // Only the control region's stack has the fan-out machine: a multi-region spec elsewhere is bad input, not a fault.
        if (error instanceof UnknownStrategy && isMultiRegion(spec)) {
          throw new SpecRejected(
            [
              {
                field: spec.regionWaves ? 'regionWaves' : 'regions',
                message: 'this stack is not the control region: start a multi-region deployment there',
              },
            ],
            { cause: error },
          );
        }
        throw error;
      });
    return { deploymentId, strategy, started: true, executionArn };
  }

  /** approve, reject, abort, pause, resume. */
  function control(request: ControlRequest): Promise<ControlResult> {
    return controlDeployment(ports, request);
  }

  /** Starts a rollback of a finished deployment to its previous version. */
  async function rollback(
    deploymentId: string,
    requestedBy: string,
    options: { idempotencyKey?: string; emergency?: boolean } = {},
  ): Promise<StartResult> {
    const spec = manualRollbackSpec(await ports.deployments.getDeployment(deploymentId), requestedBy, {
      emergency: options.emergency ?? false,
    });
    // One rollback per deployment unless the caller says otherwise: a retried request starts nothing new.
    const key = options.emergency ? `${deploymentId.slice(0, 61)}-emergency-rollback` : `${deploymentId.slice(0, 71)}-rollback`;
    return start(spec, { idempotencyKey: options.idempotencyKey ?? key });
  }

  return { start, ...createQueries(ports), control, rollback };
}

/** The service, as `createDeploymentService` answers it. */
export type DeploymentService = ReturnType<typeof createDeploymentService>;

/**
 * What every start checks before anything runs: the deployment that already
 * has this id (returned: the caller decides whether it is a repeat), or else
 * a live lock on the app+env held by another deployment (Locked).
 */
export async function startChecks(
  records: Pick<Ports, 'deployments' | 'locks'>,
  spec: Pick<DeploymentSpec, 'app' | 'environment'>,
  deploymentId: string,
  now: Date,
): Promise<DeploymentRecord | undefined> {
  const existing = await records.deployments.getDeployment(deploymentId).catch((error: unknown) => {
    if (error instanceof RecordNotFound) return undefined;
    throw error;
  });
  if (existing) return existing;
  const holder = await records.locks.getLiveLockHolder(spec.app, spec.environment, now);
  if (holder && holder !== deploymentId) {
    throw new Locked(holder, `${spec.app}/${spec.environment} is locked by deployment ${holder}; wait for it to end or abort it`);
  }
  return undefined;
}

/** What makes two requests the same deployment (who asked and the resolved previous version aside). */
const IDENTITY = ['app', 'environment', 'version', 'targets', 'command', 'rollbackCommand', 'strategy', 'gates', 'window'] as const;

/** A repeat of the same request: the same deployment field by field. */
function sameDeployment(existing: DeploymentRecord, spec: DeploymentSpec): boolean {
  const pick = (s: DeploymentSpec) =>
    Object.fromEntries(IDENTITY.map((k) => [k, s[k as keyof DeploymentSpec]]).filter(([, v]) => v !== undefined));
  // Deep, not by JSON text: DynamoDB hands maps back in any key order.
  return isDeepStrictEqual(pick(existing.spec), pick(spec));
}
