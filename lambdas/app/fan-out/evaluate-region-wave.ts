import type { RegionPhase, RegionProgress } from '#core/records.ts';
import {
  aggregateCounts,
  type FanOutState,
  isSettled,
  type RegionResult,
  regionFailure,
  regionsToRollBack,
  unansweredReason,
} from '#core/regions.ts';
import type { Ports } from '#ports';

/** What evaluating a region wave talks to. */
export type EvaluateRegionWavePorts = Pick<Ports, 'deployments' | 'audit' | 'regions' | 'clock'>;

/** What the fan-out machine's choice after a region wave reads: go on, stop, or roll back the regions done. */
export type RegionWaveVerdict = FanOutState & { readonly verdict: 'continue' | 'failed' | 'rollback' };

/** A region wave (or the rollbacks) as the Map state ended it. */
export interface RegionWaveResults {
  /** The fan-out state, with the Map state's results of the wave (or of the rollbacks) in `regionResults`. */
  readonly state: FanOutState;
  readonly phase: RegionPhase;
  /** Each region's wait as the Map state ended it (parsed by the caller). */
  readonly results: readonly RegionResult[];
}

/**
 * After a region wave (or the roll-back-all policy's rollbacks): records the
 * regions whose wait ended without a completion (timed out, or the request
 * failed), sums the counts over every region, then decides from the parent
 * record. A wave succeeds when every region of it SUCCEEDED; otherwise the
 * later waves are not started and, under `rollbackAll`, the regions that
 * succeeded are rolled back. After the rollbacks: ROLLED_BACK when every one
 * succeeded, FAILED otherwise.
 */
export async function evaluateRegionWave(
  ports: EvaluateRegionWavePorts,
  { state, phase, results }: RegionWaveResults,
): Promise<RegionWaveVerdict | FanOutState> {
  const id = state.deploymentId;
  const now = ports.clock.now();
  const before = (await ports.deployments.getDeployment(id)).regions ?? {};
  for (const result of results) {
    if (!result.error) continue;
    const entry = phase === 'rollback' ? before[result.region]?.rollback : before[result.region];
    // A completion that arrived as the wait ended is the region's real outcome: keep it.
    if (isSettled(entry)) continue;
    await ports.regions.updateRegion(
      id,
      result.region,
      phase,
      {
        status: result.error.Error === 'States.Timeout' ? 'TIMED_OUT' : 'FAILED',
        reason: unansweredReason(result.region, phase, result.timeoutSeconds, result.error),
        token: null,
      },
      now,
    );
  }
  const record = await ports.deployments.getDeployment(id);
  const regions = record.regions ?? {};
  const waves = record.regionWaves ?? [];
  await ports.deployments.updateDeployment(id, aggregateCounts(regions), now);
  const { regionResults: _results, ...rest } = state;
  return phase === 'deploy' ? afterWave(ports, rest, waves, regions, now) : afterRollback(ports, rest, regions, now);
}

async function afterWave(
  ports: EvaluateRegionWavePorts,
  state: FanOutState,
  waves: readonly (readonly string[])[],
  regions: Readonly<Record<string, RegionProgress>>,
  now: Date,
): Promise<RegionWaveVerdict> {
  const wave = state.regionWave;
  const names = waves[wave] ?? [];
  const failed = names.filter((region) => regions[region]?.status !== 'SUCCEEDED');
  await ports.audit.appendEvent(
    state.deploymentId,
    'RegionWaveCompleted',
    'deployctl',
    { wave, regions: [...names], failed, statuses: Object.fromEntries(names.map((r) => [r, regions[r]?.status ?? 'PENDING'])) },
    now,
  );
  if (failed.length === 0) {
    const next = wave + 1;
    return { ...state, regionWave: next, waveRegions: [...(waves[next] ?? [])], verdict: 'continue' };
  }
  const notStarted = waves.slice(wave + 1).flat();
  const reason = [
    failed.map((region) => regionFailure(region, regions[region])).join('; '),
    ...(notStarted.length ? [`not started: ${notStarted.join(', ')}`] : []),
  ].join('; ');
  const rollbackRegions = state.onRegionFailure === 'rollbackAll' ? regionsToRollBack(waves.slice(0, wave + 1), regions) : [];
  return {
    ...state,
    verdict: rollbackRegions.length ? 'rollback' : 'failed',
    outcome: 'FAILED',
    reason,
    ...(rollbackRegions.length ? { rollbackRegions } : {}),
  };
}

async function afterRollback(
  ports: EvaluateRegionWavePorts,
  state: FanOutState,
  regions: Readonly<Record<string, RegionProgress>>,
  now: Date,
): Promise<FanOutState> {
  const rolled = state.rollbackRegions ?? [];
  const phase: RegionPhase = 'rollback';
  const notRolledBack = rolled.filter((region) => regions[region]?.rollback?.status !== 'SUCCEEDED');
  await ports.audit.appendEvent(state.deploymentId, 'RegionsRolledBack', 'deployctl', { regions: rolled, failed: notRolledBack }, now);
  const outcome = notRolledBack.length ? 'FAILED' : 'ROLLED_BACK';
  const detail = notRolledBack.length
    ? notRolledBack.map((region) => regionFailure(region, regions[region]?.rollback as RegionProgress | undefined, phase)).join('; ')
    : `rolled back ${rolled.join(', ')}`;
  return { ...state, outcome, reason: [state.reason, detail].filter(Boolean).join('; ') };
}
