import * as z from 'zod';
import { logger, task } from '../commons/powertools.ts';
import type { RegionPhase, RegionProgress } from '../core/records.ts';
import type { FanOutState as State } from '../core/regions.ts';
import {
  aggregateCounts,
  FanOutState,
  isSettled,
  RegionResult,
  regionFailure,
  regionsToRollBack,
  unansweredReason,
} from '../core/regions.ts';
import type { FanOutDeps } from './start-fan-out.ts';

const Input = z.object({ state: FanOutState, phase: z.enum(['deploy', 'rollback']) });

/** What the fan-out machine's choice after a region wave reads: go on, stop, or roll back the regions done. */
export type RegionWaveVerdict = State & { readonly verdict: 'continue' | 'failed' | 'rollback' };

/**
 * After a region wave's Map state (or the roll-back-all policy's rollbacks):
 * records the regions whose wait ended without a completion (timed out, or
 * the request failed), then decides from the parent record. A wave succeeds
 * when every region of it SUCCEEDED; otherwise the later waves are not
 * started and, under `rollbackAll`, the regions that succeeded are rolled back.
 */
export function createEvaluateRegionWave(deps: FanOutDeps) {
  return task(async (event: unknown): Promise<RegionWaveVerdict | State> => {
    const { state, phase } = Input.parse(event);
    const id = state.deploymentId;
    const now = deps.clock.now();
    const results = z.array(RegionResult).parse(state.regionResults ?? []);
    const before = (await deps.deployments.getDeployment(id)).regions ?? {};
    for (const result of results) {
      if (!result.error) continue;
      const entry = phase === 'rollback' ? before[result.region]?.rollback : before[result.region];
      // A completion that arrived as the wait ended is the region's real outcome: keep it.
      if (isSettled(entry)) continue;
      await deps.regions.updateRegion(
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
    const record = await deps.deployments.getDeployment(id);
    const regions = record.regions ?? {};
    const waves = record.regionWaves ?? [];
    await deps.deployments.updateDeployment(id, aggregateCounts(regions), now);
    const { regionResults: _results, ...rest } = state;
    return phase === 'deploy' ? afterWave(deps, rest, waves, regions, now) : afterRollback(deps, rest, regions, now);
  });
}

async function afterWave(
  deps: FanOutDeps,
  state: State,
  waves: readonly (readonly string[])[],
  regions: Readonly<Record<string, RegionProgress>>,
  now: Date,
): Promise<RegionWaveVerdict> {
  const wave = state.regionWave;
  const names = waves[wave] ?? [];
  const failed = names.filter((region) => regions[region]?.status !== 'SUCCEEDED');
  await deps.audit.appendEvent(
    state.deploymentId,
    'RegionWaveCompleted',
    'deployctl',
    { wave, regions: [...names], failed, statuses: Object.fromEntries(names.map((r) => [r, regions[r]?.status ?? 'PENDING'])) },
    now,
  );
  if (failed.length === 0) {
    const next = wave + 1;
    logger.info('region wave succeeded', { wave, regions: names });
    return { ...state, regionWave: next, waveRegions: [...(waves[next] ?? [])], verdict: 'continue' };
  }
  const notStarted = waves.slice(wave + 1).flat();
  const reason = [
    failed.map((region) => regionFailure(region, regions[region])).join('; '),
    ...(notStarted.length ? [`not started: ${notStarted.join(', ')}`] : []),
  ].join('; ');
  const rollbackRegions = state.onRegionFailure === 'rollbackAll' ? regionsToRollBack(waves.slice(0, wave + 1), regions) : [];
  logger.warn('region wave failed', { wave, failed, rollbackRegions });
  return {
    ...state,
    verdict: rollbackRegions.length ? 'rollback' : 'failed',
    outcome: 'FAILED',
    reason,
    ...(rollbackRegions.length ? { rollbackRegions } : {}),
  };
}

async function afterRollback(deps: FanOutDeps, state: State, regions: Readonly<Record<string, RegionProgress>>, now: Date): Promise<State> {
  const rolled = state.rollbackRegions ?? [];
  const phase: RegionPhase = 'rollback';
  const notRolledBack = rolled.filter((region) => regions[region]?.rollback?.status !== 'SUCCEEDED');
  await deps.audit.appendEvent(state.deploymentId, 'RegionsRolledBack', 'deployctl', { regions: rolled, failed: notRolledBack }, now);
  const outcome = notRolledBack.length ? 'FAILED' : 'ROLLED_BACK';
  const detail = notRolledBack.length
    ? notRolledBack.map((region) => regionFailure(region, regions[region]?.rollback as RegionProgress | undefined, phase)).join('; ')
    : `rolled back ${rolled.join(', ')}`;
  return { ...state, outcome, reason: [state.reason, detail].filter(Boolean).join('; ') };
}
