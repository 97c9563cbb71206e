import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createJournal } from '#app/journal.ts';
import { logger, metrics } from '#commons/powertools.ts';
import { commandFor } from '#core/spec.ts';
import type { DeploymentState } from '#core/state.ts';
import { evaluateThresholds, isHostFailure } from '#core/thresholds.ts';
import { hostResultsOf, type Phase, WAVE_OF } from '#core/waves.ts';
import type { Invocation, Ports } from '#ports';

export type EvaluateWavePorts = Pick<Ports, 'deployments' | 'waves' | 'fleet' | 'audit' | 'events' | 'clock'>;

/** A sent wave (or rollback, or validation) whose wait ended, by its callback or by its timeout. */
export interface EvaluateWaveRequest {
  readonly state: DeploymentState;
  readonly phase: Phase;
}

/**
 * Reads every host's result with ListCommandInvocations (this read is also
 * the reconciliation when a status event was lost), records them in batches,
 * and checks the error budget. A host with no final result by now counts as failed.
 */
export async function evaluateWave(ports: EvaluateWavePorts, request: EvaluateWaveRequest): Promise<DeploymentState> {
  const { state, phase } = request;
  const id = state.deploymentId;
  const { spec } = await ports.deployments.getDeployment(id);
  // Every metric of this task is the app's and the environment's (the dashboard searches by both).
  metrics.addDimensions({ app: spec.app, environment: spec.environment });
  const wave = phase === 'deploy' ? state.wave : WAVE_OF[phase];
  const hosts = await ports.waves.getWaveHosts(id, wave);
  const { commandIds, sentAt } = await ports.waves.getWaveSending(id, wave);
  // The wait ended by its timeout, not by the callback: the status event was lost or late.
  const timedOut = (state.callback as { Error?: string } | undefined)?.Error === 'States.Timeout';
  if (timedOut) {
    metrics.addMetric('CallbackTimeouts', MetricUnit.Count, 1);
    logger.warn('no status event before the wait timed out; reading every host result instead', { deploymentId: id, phase, wave });
  }
  const version = phase === 'validate' ? undefined : commandFor(spec, phase)?.parameters.version?.[0];

  const seen = new Map<string, Invocation & { commandId: string }>();
  for (const commandId of commandIds) {
    for (const invocation of await ports.fleet.invocations(commandId)) seen.set(invocation.instanceId, { ...invocation, commandId });
  }
  const results = hostResultsOf(hosts, seen, phase, wave, version);
  const now = ports.clock.now();
  await ports.waves.putHostResults(id, results, now);
  const failedHosts = results.filter((r) => isHostFailure(r.status));
  const waveFailed = failedHosts.length;
  await ports.waves.putWaveResult(id, { wave, hosts: hosts.length, succeeded: hosts.length - waveFailed, failed: waveFailed }, now);

  if (phase === 'validate') {
    await ports.audit.appendEventOnce(
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
    await ports.deployments.updateDeployment(id, { rolledBack: hosts.length - waveFailed }, now);
    await ports.audit.appendEventOnce(
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
  await ports.deployments.updateDeployment(id, { succeeded, failed }, now);
  // Once per wave, however often Step Functions retries this task: the audit event, the status event, the metrics.
  const first = await createJournal(ports).announce(
    {
      deploymentId: id,
      once: `WaveFinished#${wave}`,
      event: {
        type: 'WaveFinished',
        actor: 'deployctl',
        detail: {
          wave,
          hosts: hosts.length,
          failed: waveFailed,
          failedHosts: failedHosts.slice(0, 20).map((h) => h.instanceId),
          ok: verdict.ok,
        },
      },
      status: { app: spec.app, environment: spec.environment, status: 'WAVE_COMPLETED', wave, hosts: hosts.length, failed: waveFailed },
    },
    now,
  );
  if (first) {
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
}
