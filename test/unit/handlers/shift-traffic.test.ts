import { describe, expect, it } from 'vitest';
import { createShiftTraffic, createSwitchBack } from '#handlers/shift-traffic.ts';
import { lambdaContext, stateOf } from '#test/support/fixtures.ts';
import { BLUE, blueGreen, GREEN, LISTENER, runningDeployment } from '#test/unit/app/support.ts';

describe('shift-traffic handler', () => {
  it('shifts to the next step and answers the state with the step taken', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    await expect(createShiftTraffic(ports)(stateOf({ trafficStep: 1, trafficSteps: 2 }), lambdaContext)).resolves.toMatchObject({
      trafficStep: 2,
      trafficSteps: 2,
    });
    expect(ports.traffic.listeners.get(LISTENER)).toEqual([
      { targetGroupArn: BLUE, weight: 0 },
      { targetGroupArn: GREEN, weight: 100 },
    ]);
  });

  it('rejects a state with a negative traffic step, moving nothing', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    await expect(createShiftTraffic(ports)(stateOf({ trafficStep: -1 }), lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    expect(ports.traffic.shifts).toEqual([]);
  });

  it('fails with NotBlueGreen for another strategy', async () => {
    const { ports } = await runningDeployment();

    await expect(createShiftTraffic(ports)(stateOf(), lambdaContext)).rejects.toMatchObject({ name: 'NotBlueGreen' });
  });
});

describe('switch-back handler', () => {
  it('sends every request back to blue and marks the outcome', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    await expect(createSwitchBack(ports)(stateOf({ reason: 'validation failed' }), lambdaContext)).resolves.toMatchObject({
      outcome: 'ROLLED_BACK',
      reason: 'validation failed; all traffic switched back to blue',
    });
    expect(ports.traffic.listeners.get(LISTENER)).toEqual([
      { targetGroupArn: BLUE, weight: 100 },
      { targetGroupArn: GREEN, weight: 0 },
    ]);
  });

  it('rejects an input that is not a deployment state', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    await expect(createSwitchBack(ports)({ deploymentId: 'dep-1' }, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });
    expect(ports.traffic.shifts).toEqual([]);
  });
});
