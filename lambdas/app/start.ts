import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { reportToParent } from '#app/close.ts';
import { createJournal } from '#app/journal.ts';
import { logger, metrics } from '#commons/powertools.ts';
import { LockHeld } from '#core/errors.ts';
import { LOCK_TTL_SECONDS, WAIT_MARGIN_SECONDS } from '#core/limits.ts';
import { bakeSecondsFor } from '#core/plan.ts';
import { parseSpec } from '#core/spec.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';
import { recordExecution } from './record-execution.ts';

export type StartPorts = Pick<Ports, 'deployments' | 'locks' | 'audit' | 'releases' | 'events' | 'clock'>;

/** What the first state gets: the spec as given, and its execution's name (the deployment id unless the spec names one). */
export interface StartRequest {
  readonly spec: unknown;
  readonly executionName: string;
}

/**
 * The first step of every execution: validates the spec (InvalidSpec starts
 * nothing), records the deployment and takes the app+env lock (LockHeld:
 * recorded as FAILED). A retry of the same execution goes on where it was;
 * another execution reusing the id is refused (DeploymentExists).
 */
export async function startDeployment(ports: StartPorts, request: StartRequest): Promise<DeploymentState> {
  const { executionName } = request;
  const parsed = parseSpec(request.spec);
  const deploymentId = parsed.deploymentId ?? executionName;
  const now = ports.clock.now();
  const previousVersion = parsed.previousVersion ?? (await ports.releases.lastGoodVersion(parsed.app, parsed.environment));
  const spec = { ...parsed, deploymentId, previousVersion };
  logger.appendKeys({ deploymentId, app: spec.app, environment: spec.environment });

  if (!(await recordExecution(ports, deploymentId, spec, executionName, now))) {
    await ports.audit.appendEvent(deploymentId, 'DeploymentRequested', spec.requestedBy, { version: spec.version }, now);
    // A manual rollback is also recorded on the deployment it undoes.
    if (spec.rollbackOf) {
      await ports.audit.appendEvent(spec.rollbackOf, 'RollbackRequested', spec.requestedBy, { rollbackDeploymentId: deploymentId }, now);
    }
  }
  try {
    await ports.locks.acquireLock(spec.app, spec.environment, deploymentId, now, LOCK_TTL_SECONDS);
  } catch (error) {
    if (error instanceof LockHeld) {
      const refused = await ports.deployments.finishDeployment(deploymentId, 'FAILED', error.message, now);
      await ports.audit.appendEvent(deploymentId, 'LockRefused', 'deployctl', { holder: error.holder }, now);
      // Multi-region: the control region hears of the refusal at once instead of waiting out its timeout.
      await reportToParent(ports, refused);
      logger.warn('lock held by another deployment', { holder: error.holder });
    }
    throw error;
  }
  try {
    await ports.deployments.updateDeployment(deploymentId, { status: 'RUNNING' }, now);
    // Once per deployment, however often this task is retried: the audit event, the status event and the metric.
    const first = await createJournal(ports).announce(
      {
        deploymentId,
        once: 'LockAcquired',
        event: { type: 'LockAcquired', actor: 'deployctl' },
        status: { app: spec.app, environment: spec.environment, version: spec.version, status: 'STARTED' },
      },
      now,
    );
    if (first) {
      metrics.addDimensions({ app: spec.app, environment: spec.environment });
      metrics.addMetric('DeploymentsStarted', MetricUnit.Count, 1);
    }
  } catch (error) {
    // Nothing started: give the lock back so that a failed start never blocks the next deployment.
    await ports.locks.releaseLock(spec.app, spec.environment, deploymentId);
    throw error;
  }

  return {
    deploymentId,
    app: spec.app,
    environment: spec.environment,
    wave: 0,
    waveCount: 0,
    hostCount: 0,
    succeeded: 0,
    failed: 0,
    bakeSeconds: bakeSecondsFor(spec),
    waitSeconds: spec.command.timeoutSeconds + WAIT_MARGIN_SECONDS,
    onFailure: spec.onFailure,
  };
}
