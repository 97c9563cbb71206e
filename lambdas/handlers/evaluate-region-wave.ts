import * as z from 'zod';
import { type EvaluateRegionWavePorts, evaluateRegionWave, type RegionWaveVerdict } from '#app/fan-out/evaluate-region-wave.ts';
import { logger, task } from '#commons/powertools.ts';
import { FanOutState, RegionResult } from '#core/regions.ts';

const Input = z.object({ state: FanOutState, phase: z.enum(['deploy', 'rollback']) });

/**
 * After a region wave's Map state (or the roll-back-all policy's rollbacks):
 * records the regions whose wait ended unanswered and decides whether the
 * fan-out goes on, stops, or rolls back the regions done.
 */
export function createEvaluateRegionWave(ports: EvaluateRegionWavePorts) {
  return task(async (event: unknown): Promise<RegionWaveVerdict | FanOutState> => {
    const { state, phase } = Input.parse(event);
    const results = z.array(RegionResult).parse(state.regionResults ?? []);
    const next = await evaluateRegionWave(ports, { state, phase, results });
    if (!('verdict' in next)) logger.info('regions rolled back', { outcome: next.outcome, reason: next.reason });
    else if (next.verdict === 'continue') logger.info('region wave succeeded', { wave: state.regionWave, regions: state.waveRegions });
    else logger.warn('region wave failed', { wave: state.regionWave, reason: next.reason, rollbackRegions: next.rollbackRegions ?? [] });
    return next;
  });
}
