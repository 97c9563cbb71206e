import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { logger, metrics, task } from '../commons/powertools.ts';
import { type HostResult, ROLLBACK_WAVE, VALIDATE_WAVE } from '../core/records.ts';
import { commandFor } from '../core/spec.ts';
import { DeploymentState } from '../core/state.ts';
import { evaluateThresholds, isHostFailure } from '../core/thresholds.ts';
import type { Invocation } from '../ports.ts';
import type { Deps } from './deps.ts';

const Input = z.object({ state: DeploymentState, phase: z.enum(['deploy', 'rollback', 'validate']) });
const WAVE_OF = { rollback: ROLLBACK_WAVE, validate: VALIDATE_WAVE } as const;
const SUFFIX = { deploy: '', rollback: '#ROLLBACK', validate: '#VALIDATE' } as const;

/** Command output kept per host: as much as SSM returns inline. */
const OUTPUT_CHARS = 2500;

/**
 * Reads every host's result with ListCommandInvocations (this read is also
 * the reconciliation when a status event was lost), records them in batches,
 * and checks the error budget. A host with no final result by now counts as failed.
 */
export function createEvaluateWave(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const { state, phase } = Input.parse(event);
    const id = state.deploymentId;
    const { spec } = await deps.deployments.getDeployment(id);
    // Every metric of this task is the app's and the environment's (the dashboard searches by both).
    metrics.addDimensions({ app: spec.app, environment: spec.environment });
    const wave = phase === 'deploy' ? state.wave : WAVE_OF[phase];
    const hosts = await deps.waves.getWaveHosts(id, wave);
    const { commandIds, sentAt } = await deps.waves.getWaveSending(id, wave);
    // The wait ended by its timeout, not by the callback: the status event was lost or late.
    const timedOut = (state.callback as { Error?: string } | undefined)?.Error === 'States.Timeout';
    if (timedOut) {
      metrics.addMetric('CallbackTimeouts', MetricUnit.Count, 1);
      logger.warn('no status event before the wait timed out; reading every host result instead', { deploymentId: id, phase, wave });
    }
    const version = phase === 'validate' ? undefined : commandFor(spec, phase)?.parameters.version?.[0];

    const seen = new Map<string, Invocation & { commandId: string }>();
    for (const commandId of commandIds) {
      for (const invocation of await deps.fleet.invocations(commandId)) seen.set(invocation.instanceId, { ...invocation, commandId });
    }
    const results: HostResult[] = hosts.map((instanceId) => {
      const inv = seen.get(instanceId);
      const settled = inv && !['Pending', 'InProgress', 'Delayed'].includes(inv.status);
      return {
        instanceId: `${instanceId}${SUFFIX[phase]}`,
        wave,
        phase,
        status: inv ? (settled ? inv.status : 'NoResult') : 'Undeliverable',
        statusDetails: inv
          ? settled
            ? inv.statusDetails
            : `still ${inv.status} when the wait ended`
          : 'SSM reported no invocation for this host',
        commandId: inv?.commandId ?? '',
        version,
        ...(inv?.output ? { output: inv.output.slice(-OUTPUT_CHARS) } : {}),
      };
    });
    const now = deps.clock.now();
    await deps.waves.putHostResults(id, results, now);
    const failedHosts = results.filter((r) => isHostFailure(r.status));
    const waveFailed = failedHosts.length;
    await deps.waves.putWaveResult(id, { wave, hosts: hosts.length, succeeded: hosts.length - waveFailed, failed: waveFailed }, now);

    if (phase === 'validate') {
      await deps.audit.appendEventOnce(
        id,
        'ValidationFinished',
        'ValidationFinished',
        'deployctl',
        { hosts: hosts.length, failed: waveFailed },
        now,
      );
      if (waveFailed === 0) return { ...state, verdict: 'continue', callback: undefined };
      return {
        ...state,
        verdict: 'failed',
        reason: `validation failed on ${waveFailed} of ${hosts.length} green hosts`,
        callback: undefined,
      };
    }

    if (phase === 'rollback') {
      // An abort ends ABORTED whatever the rollback did; with no host changed there was nothing to roll back.
      const outcome =
        state.error?.Error === 'DeploymentAborted' ? 'ABORTED' : waveFailed > 0 || hosts.length === 0 ? 'FAILED' : 'ROLLED_BACK';
      const reason =
        hosts.length === 0
          ? 'no host had been changed'
          : waveFailed === 0
            ? `rolled back ${hosts.length} hosts to ${version}`
            : `rollback failed on ${waveFailed} of ${hosts.length} hosts`;
      await deps.deployments.updateDeployment(id, { rolledBack: hosts.length - waveFailed }, now);
      await deps.audit.appendEventOnce(
        id,
        'RollbackFinished',
        'RollbackFinished',
        'deployctl',
        { hosts: hosts.length, failed: waveFailed },
        now,
      );
      return { ...state, outcome, reason: [state.reason, reason].filter(Boolean).join('; ') };
    }

    const succeeded = state.succeeded + hosts.length - waveFailed;
    const failed = state.failed + waveFailed;
    const verdict = evaluateThresholds({ total: state.hostCount, failed }, spec.strategy.maxErrors, spec.strategy.minHealthy);
    await deps.deployments.updateDeployment(id, { succeeded, failed }, now);
    // Once per wave, however often Step Functions retries this task: the audit event, the status event, the metrics.
    const first = await deps.audit.appendEventOnce(
      id,
      `WaveFinished#${wave}`,
      'WaveFinished',
      'deployctl',
      { wave, hosts: hosts.length, failed: waveFailed, failedHosts: failedHosts.slice(0, 20).map((h) => h.instanceId), ok: verdict.ok },
      now,
    );
    if (first) {
      await deps.events.put({
        detailType: 'Deployment Status Change',
        detail: {
          deploymentId: id,
          app: spec.app,
          environment: spec.environment,
          status: 'WAVE_COMPLETED',
          wave,
          hosts: hosts.length,
          failed: waveFailed,
        },
      });
      metrics.addMetric('HostsDeployed', MetricUnit.Count, hosts.length - waveFailed);
      metrics.addMetric('HostCommandFailures', MetricUnit.Count, waveFailed);
      if (sentAt) metrics.addMetric('WaveDurationSeconds', MetricUnit.Seconds, Math.max(0, (now.getTime() - Date.parse(sentAt)) / 1000));
    }
    logger.info('wave evaluated', { deploymentId: id, wave, failed: waveFailed, total: failed, ok: verdict.ok });
    return {
      ...state,
      wave: wave + 1,
      succeeded,
      failed,
      verdict: verdict.ok ? 'continue' : 'failed',
      ...(verdict.reason ? { reason: `wave ${wave + 1}: ${verdict.reason}` } : {}),
      callback: undefined,
    };
  });
}
