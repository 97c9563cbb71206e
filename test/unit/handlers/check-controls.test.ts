import { describe, expect, it } from 'vitest';
import { createCheckControls } from '#handlers/check-controls.ts';
import { lambdaContext, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

describe('check-controls handler', () => {
  it('answers the state with the decision of the safe point', async () => {
    const { ports } = await runningDeployment({ gates: { approval: 'firstWave' } });

    await expect(createCheckControls(ports)(stateOf({ waveCount: 2 }), lambdaContext)).resolves.toEqual({
      ...stateOf({ waveCount: 2 }),
      gate: 'approval',
    });
  });

  it('rejects a state without a deployment id', async () => {
    const { ports } = await runningDeployment();

    await expect(createCheckControls(ports)({ ...stateOf(), deploymentId: '' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
  });

  it('fails with DeploymentAborted, the name the state machine catches, on an abort', async () => {
    const { ports } = await runningDeployment({}, { control: { action: 'ABORT', by: 'alice', at: '2026-03-02T09:00:00.000Z' } });

    await expect(createCheckControls(ports)(stateOf(), lambdaContext)).rejects.toMatchObject({ name: 'DeploymentAborted' });
  });
});
