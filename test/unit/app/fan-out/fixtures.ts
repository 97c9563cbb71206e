import { startFanOut } from '#app/fan-out/start.ts';
import type { RegionProgress } from '#core/records.ts';
import type { FanOutState } from '#core/regions.ts';
import type { DeploymentSpecInput } from '#core/spec.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

/** Fixtures of the fan-out use-case tests: a parent deployment started over in-memory ports (this file holds no tests). */

export const PARENT = 'dep-1';

/** A multi-region spec: us-east-1 first, then eu-west-1 and ap-southeast-2 together. */
export const multiRegionSpec = {
  app: 'web',
  environment: 'prod',
  version: '1.2.3',
  deploymentId: PARENT,
  requestedBy: 'alice',
  targets: { tags: { Role: 'web' } },
  regionWaves: [['us-east-1'], ['eu-west-1', 'ap-southeast-2']],
} satisfies DeploymentSpecInput;

/** In-memory ports with the parent deployment started (and the start's audit and status events cleared). */
export async function startedFanOut(overrides: Partial<DeploymentSpecInput> = {}) {
  const ports = memoryPorts();
  const state = await startFanOut(ports, { spec: { ...multiRegionSpec, ...overrides }, executionName: PARENT });
  ports.audit.events.clear();
  ports.events.log.length = 0;
  return { ports, state };
}

/** Sets regions' entries of the parent record as a test needs them (the rest of each entry kept). */
export function givenRegions(
  ports: ReturnType<typeof memoryPorts>,
  regions: Record<string, Partial<RegionProgress>>,
  extra: Record<string, unknown> = {},
): void {
  const record = ports.deployments.records.get(PARENT);
  if (!record) throw new Error('no parent record');
  const merged = Object.fromEntries(
    Object.entries(record.regions ?? {}).map(([name, progress]) => [name, { ...progress, ...(regions[name] ?? {}) } as RegionProgress]),
  );
  ports.deployments.records.set(PARENT, { ...record, regions: merged, ...extra });
}

/** The fan-out state after a region wave's Map state. */
export function afterWave(state: FanOutState, wave: number, regionResults: unknown[]): FanOutState {
  return { ...state, regionWave: wave, waveRegions: multiRegionSpec.regionWaves[wave] ?? [], regionResults };
}
