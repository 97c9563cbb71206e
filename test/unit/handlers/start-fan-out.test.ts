import { describe, expect, it } from 'vitest';
import { InvalidSpec } from '#core/errors.ts';
import { createStartFanOut } from '#handlers/start-fan-out.ts';
import { lambdaContext } from '#test/support/fixtures.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';
import { multiRegionSpec, PARENT } from '#test/unit/app/fan-out/fixtures.ts';

describe('start-fan-out handler', () => {
  it("starts the multi-region deployment from the machine's input and answers the fan-out state", async () => {
    const ports = memoryPorts();

    const state = await createStartFanOut(ports)({ spec: multiRegionSpec, executionName: PARENT }, lambdaContext);

    expect(state).toMatchObject({ deploymentId: PARENT, regionWave: 0, regionWaveCount: 2, waveRegions: ['us-east-1'] });
    expect((await ports.deployments.getDeployment(PARENT)).status).toBe('RUNNING');
    expect(ports.events.statuses()).toEqual(['STARTED']);
  });

  it('refuses an input without the execution name, recording nothing', async () => {
    const ports = memoryPorts();

    await expect(createStartFanOut(ports)({ spec: multiRegionSpec }, lambdaContext)).rejects.toThrow(/executionName/);
    expect(ports.deployments.records.size).toBe(0);
  });

  it('lets InvalidSpec through by name, for the machine to catch', async () => {
    const rejected = await createStartFanOut(memoryPorts())({ spec: { app: 'web' }, executionName: PARENT }, lambdaContext).catch(
      (error: unknown) => error,
    );

    expect(rejected).toBeInstanceOf(InvalidSpec);
    expect((rejected as Error).name).toBe('InvalidSpec');
  });
});
