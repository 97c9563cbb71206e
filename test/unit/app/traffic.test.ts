import { describe, expect, it } from 'vitest';
import { shiftTraffic, switchBack } from '#app/traffic.ts';
import { NotBlueGreen } from '#core/errors.ts';
import { DEPLOYMENT_ID, stateOf } from '#test/support/fixtures.ts';
import { BLUE, blueGreen, GREEN, LISTENER, runningDeployment } from '#test/unit/app/support.ts';

const weights = (green: number) => [
  { targetGroupArn: BLUE, weight: 100 - green },
  { targetGroupArn: GREEN, weight: green },
];

describe('shiftTraffic', () => {
  it('moves the listener to the next traffic step and announces TRAFFIC_SHIFTED', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    const state = await shiftTraffic(ports, stateOf({ trafficStep: 0, trafficSteps: 2 }));

    expect(state).toMatchObject({ trafficStep: 1, trafficSteps: 2 });
    expect(ports.traffic.listeners.get(LISTENER)).toEqual(weights(25));
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'TrafficShifted', step: 1, green: 25, blue: 75 }]);
    expect(ports.events.log).toEqual([
      {
        detailType: 'Deployment Status Change',
        detail: { deploymentId: DEPLOYMENT_ID, app: 'web', environment: 'prod', status: 'TRAFFIC_SHIFTED', green: 25 },
      },
    ]);
  });

  it('stays at the last step when asked past it', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    await shiftTraffic(ports, stateOf({ trafficStep: 5 }));

    expect(ports.traffic.listeners.get(LISTENER)).toEqual(weights(100));
  });

  it('refuses a deployment that is not blue-green with NotBlueGreen, moving nothing', async () => {
    const { ports } = await runningDeployment();

    await expect(shiftTraffic(ports, stateOf())).rejects.toBeInstanceOf(NotBlueGreen);
    expect(ports.traffic.shifts).toEqual([]);
  });
});

describe('switchBack', () => {
  it('sends every request back to blue and ends ROLLED_BACK with the reason', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    const state = await switchBack(ports, stateOf({ error: { Error: 'AlarmFiring', Cause: 'web-5xx in ALARM' } }));

    expect(ports.traffic.listeners.get(LISTENER)).toEqual(weights(0));
    expect(state).toMatchObject({ outcome: 'ROLLED_BACK', reason: 'all traffic switched back to blue' });
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'TrafficSwitchedBack', reason: 'AlarmFiring: web-5xx in ALARM' }]);
    expect(ports.events.log).toEqual([]);
  });

  it('ends ABORTED when an abort sent it back', async () => {
    const { ports } = await runningDeployment({ strategy: blueGreen });

    const state = await switchBack(ports, stateOf({ error: { Error: 'DeploymentAborted' }, reason: 'wave 1' }));

    expect(state).toMatchObject({ outcome: 'ABORTED', reason: 'wave 1; all traffic switched back to blue' });
  });
});
