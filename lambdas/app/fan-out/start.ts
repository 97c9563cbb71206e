import { createJournal } from '#app/journal.ts';
import { recordExecution } from '#app/record-execution.ts';
import type { RegionProgress } from '#core/records.ts';
import { checkMultiRegion, type FanOutState, regionalDeploymentId, regionPolicyOf, regionWavesOf } from '#core/regions.ts';
import { parseSpec } from '#core/spec.ts';
import type { Ports } from '#ports';

/** What starting a fan-out talks to. */
export type StartFanOutPorts = Pick<Ports, 'deployments' | 'audit' | 'events' | 'clock'>;

/** The fan-out machine's input to its first state. */
export interface StartFanOutRequest {
  /** The spec as the execution was started with it (validated here). */
  readonly spec: unknown;
  /** The fan-out execution's name: the deployment id when the spec gives none. */
  readonly executionName: string;
}

/**
 * Starts a multi-region deployment in the control region: validates the spec
 * (InvalidSpec starts nothing), records the parent deployment with every
 * region PENDING in its wave, announces it STARTED and answers the state of
 * the fan-out machine at its first region wave. The parent takes no app+env
 * lock: each region's deployment takes its own, in its region. A retry of
 * the same execution goes on from the record as it is; another execution of
 * the same id, or one that has ended, is DeploymentExists.
 */
export async function startFanOut(ports: StartFanOutPorts, request: StartFanOutRequest): Promise<FanOutState> {
  const { executionName } = request;
  const parsed = parseSpec(request.spec);
  const deploymentId = parsed.deploymentId ?? executionName;
  checkMultiRegion(parsed, deploymentId);
  const spec = { ...parsed, deploymentId };
  const waves = regionWavesOf(spec);
  const policy = regionPolicyOf(spec);
  const now = ports.clock.now();

  const existing = await recordExecution(ports, deploymentId, spec, executionName, now);
  // A retry of this very execution that got past the setup goes on from the record as it is.
  if (!existing || existing.status === 'PENDING') {
    const regions: Record<string, RegionProgress> = {};
    for (const [wave, names] of waves.entries()) {
      for (const region of names) regions[region] = { wave, deploymentId: regionalDeploymentId(deploymentId, region), status: 'PENDING' };
    }
    await ports.deployments.updateDeployment(deploymentId, { status: 'RUNNING', regionWaves: waves, currentRegionWave: 0, regions }, now);
    await createJournal(ports).announce(
      {
        deploymentId,
        event: { type: 'DeploymentRequested', actor: spec.requestedBy, detail: { version: spec.version, regionWaves: waves } },
        status: { app: spec.app, environment: spec.environment, version: spec.version, status: 'STARTED' },
      },
      now,
    );
  }
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
}
