import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { DeploymentExists, LockHeld } from '#core/errors.ts';
import { logger, metrics, task } from '../commons/powertools.ts';
import { bakeSecondsFor } from '../core/plan.ts';
import { parseSpec } from '../core/spec.ts';
import type { DeploymentState } from '../core/state.ts';
import { reportToParent } from './close-deployment.ts';
import { type Deps, LOCK_TTL_SECONDS, WAIT_MARGIN_SECONDS } from './deps.ts';

const Input = z.object({ spec: z.unknown(), executionName: z.string().min(1) });

/**
 * First state: validates the spec (InvalidSpec starts nothing), records the
 * deployment and takes the app+env lock (LockHeld: recorded as FAILED).
 */
export function createValidateSpec(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const { spec: raw, executionName } = Input.parse(event);
    const parsed = parseSpec(raw);
    const deploymentId = parsed.deploymentId ?? executionName;
    const now = deps.clock.now();
    const previousVersion = parsed.previousVersion ?? (await deps.releases.lastGoodVersion(parsed.app, parsed.environment));
    const spec = { ...parsed, deploymentId, previousVersion };
    logger.appendKeys({ deploymentId, app: spec.app, environment: spec.environment });

    const created = await deps.deployments.createDeployment(deploymentId, spec, executionName, now);
    if (created === 'created') {
      await deps.audit.appendEvent(deploymentId, 'DeploymentRequested', spec.requestedBy, { version: spec.version }, now);
      // A manual rollback is also recorded on the deployment it undoes.
      if (spec.rollbackOf) {
        await deps.audit.appendEvent(spec.rollbackOf, 'RollbackRequested', spec.requestedBy, { rollbackDeploymentId: deploymentId }, now);
      }
    } else {
      // A retry of this very execution goes on; another execution reusing the id must not touch the record.
      const existing = await deps.deployments.getDeployment(deploymentId);
      // An ended deployment is never resumed, even under its own name (locally, names repeat across runs).
      if (existing.executionName !== executionName || existing.endedAt) {
        throw new DeploymentExists(
          `deployment ${deploymentId} already exists (${existing.status}, execution ${existing.executionName}); give a new deploymentId`,
        );
      }
    }
    try {
      await deps.locks.acquireLock(spec.app, spec.environment, deploymentId, now, LOCK_TTL_SECONDS);
    } catch (error) {
      if (error instanceof LockHeld) {
        const refused = await deps.deployments.finishDeployment(deploymentId, 'FAILED', error.message, now);
        await deps.audit.appendEvent(deploymentId, 'LockRefused', 'deployctl', { holder: error.holder }, now);
        // Multi-region: the control region hears of the refusal at once instead of waiting out its timeout.
        await reportToParent(deps, refused);
        logger.warn('lock held by another deployment', { holder: error.holder });
      }
      throw error;
    }
    try {
      await deps.deployments.updateDeployment(deploymentId, { status: 'RUNNING' }, now);
      // Once per deployment, however often this task is retried: the audit event, the status event and the metric.
      if (await deps.audit.appendEventOnce(deploymentId, 'LockAcquired', 'LockAcquired', 'deployctl', {}, now)) {
        await deps.events.put({
          detailType: 'Deployment Status Change',
          detail: { deploymentId, app: spec.app, environment: spec.environment, version: spec.version, status: 'STARTED' },
        });
        metrics.addDimensions({ app: spec.app, environment: spec.environment });
        metrics.addMetric('DeploymentsStarted', MetricUnit.Count, 1);
      }
    } catch (error) {
      // Nothing started: give the lock back so that a failed start never blocks the next deployment.
      await deps.locks.releaseLock(spec.app, spec.environment, deploymentId);
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
  });
}
