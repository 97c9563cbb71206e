import { describe, expect, it } from 'vitest';
import { runPreChecks } from '#app/pre-checks.ts';
import { PreCheckFailed } from '#core/errors.ts';
import { DEPLOYMENT_ID, hosts, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

/** A deployment with two planned waves of two hosts each. */
async function planned(overrides: Parameters<typeof runningDeployment>[0] = {}, fields: Parameters<typeof runningDeployment>[1] = {}) {
  const given = await runningDeployment(overrides, fields);
  await given.ports.waves.putWave(DEPLOYMENT_ID, 0, hosts(2));
  await given.ports.waves.putWave(DEPLOYMENT_ID, 1, hosts(2, 2));
  return given;
}

describe('runPreChecks', () => {
  it('passes the state on and records every check when hosts are online and alarms quiet', async () => {
    const { ports } = await planned({ gates: { alarms: { names: ['HighErrors'] } } });
    ports.alarms.states = [{ name: 'HighErrors', state: 'OK' }];
    const state = stateOf({ waveCount: 2 });

    await expect(runPreChecks(ports, state)).resolves.toEqual(state);

    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).checks).toEqual([
      { name: 'hosts online', passed: true, reason: 'all 4 hosts online in SSM' },
      { name: 'alarms quiet', passed: true, reason: '1 alarms, none in ALARM' },
    ]);
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['PreChecks']);
  });

  it('fails with PreCheckFailed naming the offline hosts and the firing alarms', async () => {
    const { ports } = await planned({ gates: { alarms: { prefix: 'web-' } } });
    ports.fleet.offline.add(hosts(4)[3] as string);
    ports.alarms.states = [{ name: 'web-5xx', state: 'ALARM' }];

    const error = await runPreChecks(ports, stateOf({ waveCount: 2 })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreCheckFailed);
    expect((error as Error).message).toBe(
      `hosts online: 1 of 4 hosts not online in SSM: ${hosts(4)[3]}; alarms quiet: already in ALARM: web-5xx`,
    );
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['PreChecks']);
  });

  it('puts the checks off and announces WAITING_FOR_WINDOW when the window is closed and the spec says wait', async () => {
    // The fake clock stands at 10:00 UTC on a Monday; the window opens at 22:00.
    const { ports } = await planned({ window: { cron: '0 22 * * *', durationMinutes: 60, timezone: 'UTC', outside: 'wait' } });

    const state = await runPreChecks(ports, stateOf({ waveCount: 2 }));

    expect(state.windowOpensAt).toBe('2026-03-02T22:00:00Z');
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['WaitingForWindow']);
    expect(ports.events.log[0]?.detail).toEqual({
      deploymentId: DEPLOYMENT_ID,
      app: 'web',
      environment: 'prod',
      status: 'WAITING_FOR_WINDOW',
      opensAt: '2026-03-02T22:00:00Z',
    });
  });

  it('runs no checks once an abort was asked for, and clears the window it waited for', async () => {
    const control = { action: 'ABORT', by: 'alice', at: '2026-03-02T09:00:00.000Z' } as const;
    const { ports } = await planned({}, { control, windowOpensAt: '2026-03-02T10:00:00Z' });

    const state = await runPreChecks(ports, stateOf({ waveCount: 2, windowOpensAt: '2026-03-02T10:00:00Z' }));

    expect(state).not.toHaveProperty('windowOpensAt');
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).windowOpensAt ?? null).toBeNull();
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual([]);
  });
});

describe('runPreChecks with a change calendar', () => {
  /** Open all day, every day: only the calendar decides. */
  const allDay = { cron: '0 0 * * *', durationMinutes: 1440, timezone: 'UTC', changeCalendar: 'prod-freeze' } as const;

  it('reads the calendar at the clock time and records it OPEN with its next change', async () => {
    const { ports } = await planned({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'OPEN', nextTransitionTime: new Date('2026-03-03T00:00:00Z') });
    const state = stateOf({ waveCount: 2 });

    await expect(runPreChecks(ports, state)).resolves.toEqual(state);

    expect(ports.calendars.asked).toEqual([{ name: 'prod-freeze', at: '2026-03-02T10:00:00.000Z' }]);
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).checks).toContainEqual({
      name: 'change calendar',
      passed: true,
      reason: 'change calendar prod-freeze is OPEN until 2026-03-03T00:00:00.000Z',
    });
  });

  it('refuses with PreCheckFailed and the reason when the calendar is CLOSED and the window says refuse', async () => {
    const { ports } = await planned({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED', nextTransitionTime: new Date('2026-03-02T18:00:00Z') });

    const error = await runPreChecks(ports, stateOf({ waveCount: 2 })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreCheckFailed);
    expect((error as Error).message).toBe('change calendar: change calendar prod-freeze is CLOSED until 2026-03-02T18:00:00.000Z');
    expect(ports.fleet.sent).toEqual([]);
  });

  it('refuses, naming SSM error, a calendar SSM cannot read', async () => {
    const { ports } = await planned({ window: { ...allDay, outside: 'wait' } });

    const error = await runPreChecks(ports, stateOf({ waveCount: 2 })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreCheckFailed);
    expect((error as Error).message).toBe(
      "change calendar: change calendar prod-freeze cannot be read: InvalidDocument: The specified SSM document doesn't exist.",
    );
  });

  it('waits until the calendar opens when the window says wait, as for a closed window', async () => {
    const { ports } = await planned({ window: { ...allDay, outside: 'wait' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED', nextTransitionTime: new Date('2026-03-02T18:00:00.250Z') });

    const state = await runPreChecks(ports, stateOf({ waveCount: 2 }));

    expect(state.windowOpensAt).toBe('2026-03-02T18:00:01Z');
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['WaitingForWindow']);
    expect(ports.events.log[0]?.detail).toMatchObject({ status: 'WAITING_FOR_WINDOW', opensAt: '2026-03-02T18:00:01Z' });
  });

  it('refuses a CLOSED calendar with no opening ahead even when the window says wait', async () => {
    const { ports } = await planned({ window: { ...allDay, outside: 'wait' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED' });

    await expect(runPreChecks(ports, stateOf({ waveCount: 2 }))).rejects.toThrow(
      new PreCheckFailed(
        'change calendar: change calendar prod-freeze is CLOSED; it has no opening ahead, so there is nothing to wait for',
      ),
    );
  });

  it('does not read the calendar while the maintenance window itself makes the deployment wait', async () => {
    const { ports } = await planned({
      window: { cron: '0 22 * * *', durationMinutes: 60, timezone: 'UTC', changeCalendar: 'prod-freeze', outside: 'wait' },
    });

    const state = await runPreChecks(ports, stateOf({ waveCount: 2 }));

    expect(state.windowOpensAt).toBe('2026-03-02T22:00:00Z');
    expect(ports.calendars.asked).toEqual([]);
  });
});
