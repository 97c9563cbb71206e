import { describe, expect, it } from 'vitest';
import { checkAlarms } from '#app/alarm-gate.ts';
import { AlarmFiring } from '#core/errors.ts';
import { DEPLOYMENT_ID, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

describe('checkAlarms', () => {
  const state = stateOf({ wave: 1, waveCount: 3 });

  it('passes the state on and records the gate when no alarm is in ALARM', async () => {
    const { ports } = await runningDeployment({ gates: { alarms: { names: ['HighErrors'] } } });
    ports.alarms.states = [{ name: 'HighErrors', state: 'OK' }];

    await expect(checkAlarms(ports, state)).resolves.toEqual(state);
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'AlarmGate', wave: 0, alarms: 1, firing: [] }]);
  });

  it('throws AlarmFiring naming the alarm and its reason when one is in ALARM', async () => {
    const { ports } = await runningDeployment({ gates: { alarms: { prefix: 'web-' } } });
    ports.alarms.states = [{ name: 'web-5xx', state: 'ALARM', reason: 'Threshold Crossed' }];

    await expect(checkAlarms(ports, state)).rejects.toThrow(new AlarmFiring('after wave 1: web-5xx in ALARM (Threshold Crossed)'));
    expect(ports.audit.events.get(DEPLOYMENT_ID)).toMatchObject([{ type: 'AlarmGate', firing: ['web-5xx'] }]);
  });

  it('asks nothing and records nothing when the spec names no alarms', async () => {
    const { ports } = await runningDeployment();

    await expect(checkAlarms(ports, state)).resolves.toEqual(state);
    expect(ports.alarms.asked).toEqual([]);
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual([]);
  });
});
