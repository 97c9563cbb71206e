import { describe, expect, it } from 'vitest';
import { planDeployment } from '#app/plan.ts';
import { DEPLOYMENT_ID, hosts, stateOf } from '#test/support/fixtures.ts';
import { blueGreen, runningDeployment } from '#test/unit/app/support.ts';

describe('planDeployment', () => {
  it('stores each wave of the resolved hosts and puts only counts in the state', async () => {
    const { ports } = await runningDeployment({ strategy: { type: 'rolling', batchSize: 2 } });
    ports.fleet.hosts = hosts(5);

    const state = await planDeployment(ports, stateOf());

    expect(state).toMatchObject({ waveCount: 3, hostCount: 5 });
    expect(await ports.waves.getWaveHosts(DEPLOYMENT_ID, 2)).toEqual([hosts(5)[4]]);
    expect(await ports.deployments.getDeployment(DEPLOYMENT_ID)).toMatchObject({ waveCount: 3, hostCount: 5, succeeded: 0, failed: 0 });
    expect(ports.audit.events.get(DEPLOYMENT_ID)?.at(-1)).toMatchObject({ type: 'WavesPlanned', waves: [2, 2, 1] });
  });

  it('plans blue-green on the green fleet and adds its traffic steps', async () => {
    const { ports } = await runningDeployment({ strategy: { ...blueGreen, green: { instanceIds: hosts(2, 10) } } });

    const state = await planDeployment(ports, stateOf());

    expect(state).toMatchObject({ waveCount: 1, hostCount: 2, trafficStep: 0, trafficSteps: 2, keepBlueSeconds: 3600 });
    expect(await ports.waves.getWaveHosts(DEPLOYMENT_ID, 0)).toEqual(hosts(2, 10));
  });
});
