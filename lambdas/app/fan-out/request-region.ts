import { RegionalRollbackRefused, RollbackRefused } from '#core/errors.ts';
import { REGIONAL_REQUESTED, type RegionRequest, regionalDeploymentId, regionalRollbackSpec, regionalSpec } from '#core/regions.ts';
import type { DeploymentSpecInput } from '#core/spec.ts';
import type { Ports } from '#ports';

/** What requesting a region talks to. */
export type RequestRegionPorts = Pick<Ports, 'deployments' | 'audit' | 'regions' | 'events' | 'clock'>;

/** The regional deployment requested, and the region wave it belongs to. */
export interface RegionRequested {
  /** The regional deployment's id (the parent's id and the region, and `-rollback` for a rollback). */
  readonly requested: string;
  readonly wave: number;
}

/**
 * Requests one region's deployment (or its rollback): stores the wait's task
 * token in the region's entry of the parent record, then puts "Regional
 * Deployment Requested" with the region's spec on the control region's bus,
 * from where a rule forwards it to the region's bus. The region's "Regional
 * Deployment Completed" comes back to `regionCompleted`, which sends the
 * stored token back: the token never leaves the control region. A region
 * with no previous version to roll back to is RegionalRollbackRefused.
 */
export async function requestRegion(ports: RequestRegionPorts, request: RegionRequest, taskToken: string): Promise<RegionRequested> {
  const { deploymentId: parentId, region, phase } = request;
  const record = await ports.deployments.getDeployment(parentId);
  const progress = record.regions?.[region];
  if (!progress) throw new Error(`region ${region} is not one of deployment ${parentId}'s regions`);
  let spec: DeploymentSpecInput;
  if (phase === 'deploy') {
    spec = regionalSpec(record.spec, parentId, region);
  } else {
    try {
      spec = regionalRollbackSpec(record.spec, parentId, region, progress);
    } catch (error) {
      if (error instanceof RollbackRefused) throw new RegionalRollbackRefused(error.message, { cause: error });
      throw error;
    }
  }
  const deploymentId = regionalDeploymentId(parentId, region, phase);
  const now = ports.clock.now();
  await ports.regions.updateRegion(
    parentId,
    region,
    phase,
    { deploymentId, status: 'REQUESTED', token: taskToken, requestedAt: now.toISOString(), reason: null },
    now,
  );
  if (phase === 'deploy') await ports.deployments.updateDeployment(parentId, { currentRegionWave: progress.wave }, now);
  await ports.events.put({
    detailType: REGIONAL_REQUESTED,
    detail: { parentId, region, phase, deploymentId, spec: spec as Record<string, unknown> },
  });
  await ports.audit.appendEvent(
    parentId,
    phase === 'deploy' ? 'RegionRequested' : 'RegionRollbackRequested',
    'deployctl',
    { region, regionalDeploymentId: deploymentId, wave: progress.wave },
    now,
  );
  return { requested: deploymentId, wave: progress.wave };
}
