import * as z from 'zod';
import { DeploymentExists } from '#core/errors.ts';
import { logger, task } from '../commons/powertools.ts';
import type { RegionProgress } from '../core/records.ts';
import { checkMultiRegion, type FanOutState, regionalDeploymentId, regionPolicyOf, regionWavesOf } from '../core/regions.ts';
import { parseSpec } from '../core/spec.ts';
import type { Deps } from './deps.ts';

/** What the fan-out handlers talk to: records, events, task tokens and the clock. */
export type FanOutDeps = Pick<Deps, 'deployments' | 'audit' | 'regions' | 'events' | 'callbacks' | 'clock'>;

const Input = z.object({ spec: z.unknown(), executionName: z.string().min(1) });

/**
 * First state of the control region's fan-out machine: validates the spec
 * (InvalidSpec starts nothing), records the parent deployment with every
 * region PENDING in its wave, and hands the first region wave to the Map
 * state. The parent takes no app+env lock: each region's deployment takes
 * its own, in its region.
 */
export function createStartFanOut(deps: FanOutDeps) {
  return task(async (event: unknown): Promise<FanOutState> => {
    const { spec: raw, executionName } = Input.parse(event);
    const parsed = parseSpec(raw);
    const deploymentId = parsed.deploymentId ?? executionName;
    checkMultiRegion(parsed, deploymentId);
    const spec = { ...parsed, deploymentId };
    const waves = regionWavesOf(spec);
    const policy = regionPolicyOf(spec);
    logger.appendKeys({ deploymentId, app: spec.app, environment: spec.environment });
    const now = deps.clock.now();

    const created = await deps.deployments.createDeployment(deploymentId, spec, executionName, now);
    const existing = created === 'exists' ? await deps.deployments.getDeployment(deploymentId) : undefined;
    if (existing && (existing.executionName !== executionName || existing.endedAt)) {
      throw new DeploymentExists(
        `deployment ${deploymentId} already exists (${existing.status}, execution ${existing.executionName}); give a new deploymentId`,
      );
    }
    // A retry of this very execution that got past the setup goes on from the record as it is.
    if (!existing || existing.status === 'PENDING') {
      const regions: Record<string, RegionProgress> = {};
      for (const [wave, names] of waves.entries()) {
        for (const region of names) regions[region] = { wave, deploymentId: regionalDeploymentId(deploymentId, region), status: 'PENDING' };
      }
      await deps.deployments.updateDeployment(deploymentId, { status: 'RUNNING', regionWaves: waves, currentRegionWave: 0, regions }, now);
      await deps.audit.appendEvent(
        deploymentId,
        'DeploymentRequested',
        spec.requestedBy,
        { version: spec.version, regionWaves: waves },
        now,
      );
      await deps.events.put({
        detailType: 'Deployment Status Change',
        detail: { deploymentId, app: spec.app, environment: spec.environment, version: spec.version, status: 'STARTED' },
      });
    }
    logger.info('multi-region deployment started', { regionWaves: waves, policy });
    return {
      deploymentId,
      app: spec.app,
      environment: spec.environment,
      regionWave: 0,
      regionWaveCount: waves.length,
      waveRegions: waves[0] ?? [],
      regionBakeSeconds: policy.bakeSeconds,
      regionTimeoutSeconds: policy.timeoutSeconds,
      onRegionFailure: policy.onFailure,
    };
  });
}
