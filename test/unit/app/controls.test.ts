import { describe, expect, it } from 'vitest';
import { checkControls } from '#app/controls.ts';
import { DeploymentAborted } from '#core/errors.ts';
import { stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const at = '2026-03-02T09:00:00.000Z';

describe('checkControls', () => {
  it('goes on when nothing was asked and the spec needs no approval', async () => {
    const { ports } = await runningDeployment();

    await expect(checkControls(ports, stateOf({ waveCount: 2 }))).resolves.toMatchObject({ gate: 'go' });
  });

  it('throws DeploymentAborted with who aborted and why', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'ABORT', by: 'alice', at, comment: 'bad build' } });

    await expect(checkControls(ports, stateOf())).rejects.toThrow(new DeploymentAborted('aborted by alice: bad build'));
  });

  it('holds for a pause', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'PAUSE', by: 'bob', at } });

    await expect(checkControls(ports, stateOf())).resolves.toMatchObject({ gate: 'paused' });
  });

  it('asks for an approval before the first wave only under firstWave, and never after the last', async () => {
    const { ports } = await runningDeployment({ gates: { approval: 'firstWave' } });

    await expect(checkControls(ports, stateOf({ wave: 0, waveCount: 2 }))).resolves.toMatchObject({ gate: 'approval' });
    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 2 }))).resolves.toMatchObject({ gate: 'go' });
  });

  it('asks for an approval before every wave and traffic step under everyWave, but not when all is done', async () => {
    const { ports } = await runningDeployment({ gates: { approval: 'everyWave' } });

    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 2 }))).resolves.toMatchObject({ gate: 'approval' });
    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 1, trafficStep: 0, trafficSteps: 1 }))).resolves.toMatchObject({
      gate: 'approval',
    });
    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 1 }))).resolves.toMatchObject({ gate: 'go' });
  });
});
