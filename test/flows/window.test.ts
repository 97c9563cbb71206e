import { describe, expect, it } from 'vitest';
import { writeLocalCalendar } from '#adapters/local/calendars.ts';
import { SimulatedClock } from '#cli/local/clock.ts';
import type { EventLog, LocalRun } from '#cli/local/interpreter.ts';
import type { Window } from '#core/spec.ts';
import { checkWindow, waitTimestamp } from '#core/window.ts';
import { blueGreenSpec, rollingSpec, startFlow } from '#test/flows/harness.ts';

/** Local time starts at Thursday 2026-01-01 00:00 UTC and runs on from there. */
const START = new Date('2026-01-01T00:00:00Z');

/** Every morning 06:00 to 07:00 UTC: closed at the start of local time, open six simulated hours later. */
function dawnWindow(outside: Window['outside']): Window {
  return { cron: '0 6 * * *', durationMinutes: 60, timezone: 'UTC', blackoutDates: [], outside };
}

/** The timestamp a closed window makes a deployment wait for, as the Wait state must read it. */
function expectedOpening(window: Window, at: Date): string {
  const check = checkWindow(window, at);
  if (check.open || !check.nextOpening) throw new Error(`the test needs a window that is closed at ${at.toISOString()} and opens later`);
  return waitTimestamp(check.nextOpening);
}

/** The state machine states a run entered, with their input, in order. */
function entered(run: LocalRun, name: string) {
  return run.events
    .filter((e): e is Extract<EventLog, { type: 'StateEntered' }> => e.type === 'StateEntered' && e.state.name === name)
    .map((e) => e.state.input as Record<string, unknown>);
}

describe('a deployment requested outside its maintenance window', () => {
  it('is refused by default: FAILED with the window reason, nothing deployed, the lock released', async () => {
    const window = dawnWindow('refuse');
    const spec = rollingSpec('window-refuse', { window, deploymentId: 'window-refuse' });
    const clock = new SimulatedClock(START);
    const flow = await startFlow(spec, 4, {}, { clock });
    const reason = checkWindow(window, clock.now()).reason;

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    const record = await flow.orchestrator.record('window-refuse');
    expect(record.status).toBe('FAILED');
    expect(record.reason).toBe(`PreCheckFailed: maintenance window: ${reason}`);
    expect(record.checks).toContainEqual({ name: 'maintenance window', passed: false, reason });
    expect(entered(run, 'Wait For Maintenance Window')).toEqual([]);
    expect(Object.values(await flow.commandCounts())).toEqual([0, 0, 0, 0]);
    expect(Object.values(await flow.versions())).toEqual(Array(4).fill(undefined));
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('waits in the Wait state until the next opening when the spec says so, then deploys every host', async () => {
    const window = dawnWindow('wait');
    const spec = rollingSpec('window-wait', { window, deploymentId: 'window-wait' });
    const clock = new SimulatedClock(START);
    const flow = await startFlow(spec, 4, {}, { clock });
    const opensAt = expectedOpening(window, clock.now());

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    expect(entered(run, 'Wait For Maintenance Window')).toEqual([expect.objectContaining({ windowOpensAt: opensAt })]);
    // Once before the wait, once after it, when the window is open.
    expect(entered(run, 'Run Pre-Checks')).toHaveLength(2);
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(Date.parse(opensAt));

    const events = await flow.orchestrator.records.audit.getEvents('window-wait');
    const types = events.map((e) => e.type);
    expect(types.indexOf('WaitingForWindow')).toBeGreaterThan(-1);
    expect(types.indexOf('WaitingForWindow')).toBeLessThan(types.indexOf('PreChecks'));
    expect(events.find((e) => e.type === 'WaitingForWindow')).toMatchObject({ actor: 'deployctl', opensAt });
    expect(Date.parse(String(events.find((e) => e.type === 'PreChecks')?.at))).toBeGreaterThanOrEqual(Date.parse(opensAt));

    const record = await flow.orchestrator.record('window-wait');
    expect(record).toMatchObject({ status: 'SUCCEEDED', windowOpensAt: null, succeeded: 4 });
    expect(record.checks).toContainEqual({ name: 'maintenance window', passed: true, reason: expect.stringMatching(/^window opened /) });
    expect(Object.values(await flow.versions())).toEqual(Array(4).fill('2.0.0'));
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('waits for the window in the blue-green flow too, then deploys green and shifts the traffic', async () => {
    const window = dawnWindow('wait');
    const spec = blueGreenSpec('window-bg', { trafficSteps: [50, 100] }, { window, deploymentId: 'window-bg' });
    const clock = new SimulatedClock(START);
    const flow = await startFlow(spec, 4, {}, { clock });
    const opensAt = expectedOpening(window, clock.now());

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    expect(entered(run, 'Wait For Maintenance Window')).toEqual([expect.objectContaining({ windowOpensAt: opensAt })]);
    expect(await flow.greenWeights()).toEqual([50, 100]);
    const types = (await flow.orchestrator.records.audit.getEvents('window-bg')).map((e) => e.type);
    expect(types).toContain('WaitingForWindow');
  });

  it('ends FAILED with a clear reason when the window it should wait for has no opening ahead', async () => {
    // 30 February never comes.
    const window = { ...dawnWindow('wait'), cron: '0 6 30 2 *' };
    const spec = rollingSpec('window-never', { window, deploymentId: 'window-never' });
    const flow = await startFlow(spec, 2, {}, { clock: new SimulatedClock(START) });

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    const record = await flow.orchestrator.record('window-never');
    expect(record.reason).toBe(
      'PreCheckFailed: maintenance window: outside the maintenance window (0 6 30 2 * UTC, 60 min); the window has no opening ahead, so there is nothing to wait for',
    );
    expect(entered(run, 'Wait For Maintenance Window')).toEqual([]);
    expect(Object.values(await flow.commandCounts())).toEqual([0, 0]);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });
});

describe('a deployment under a change calendar (window.changeCalendar)', () => {
  /** Open all day, every day: only the calendar decides. */
  const allDay = (outside: Window['outside']): Window => ({
    cron: '0 0 * * *',
    durationMinutes: 1440,
    timezone: 'UTC',
    blackoutDates: [],
    changeCalendar: 'prod-freeze',
    outside,
  });

  it('is refused while the calendar is CLOSED: FAILED with the calendar reason, nothing deployed, the lock released', async () => {
    const spec = rollingSpec('calendar-refuse', { window: allDay('refuse'), deploymentId: 'calendar-refuse' });
    const flow = await startFlow(spec, 4, {}, { clock: new SimulatedClock(START) });
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'CLOSED', NextTransitionTime: '2026-01-02T00:00:00Z' });

    const run = await flow.run(spec);

    expect(run).toMatchObject({ status: 'FAILED', error: 'DeploymentFailed' });
    const record = await flow.orchestrator.record('calendar-refuse');
    expect(record.status).toBe('FAILED');
    expect(record.reason).toBe('PreCheckFailed: change calendar: change calendar prod-freeze is CLOSED until 2026-01-02T00:00:00.000Z');
    expect(Object.values(await flow.commandCounts())).toEqual([0, 0, 0, 0]);
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('waits for a CLOSED calendar to open when the spec says wait, then deploys every host', async () => {
    const spec = rollingSpec('calendar-wait', { window: allDay('wait'), deploymentId: 'calendar-wait' });
    const clock = new SimulatedClock(START);
    const flow = await startFlow(spec, 4, {}, { clock });
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'CLOSED', NextTransitionTime: '2026-01-01T03:00:00Z' });

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    expect(entered(run, 'Wait For Maintenance Window')).toEqual([expect.objectContaining({ windowOpensAt: '2026-01-01T03:00:00Z' })]);
    const record = await flow.orchestrator.record('calendar-wait');
    expect(record.checks).toContainEqual({ name: 'change calendar', passed: true, reason: 'change calendar prod-freeze is OPEN' });
    expect(Object.values(await flow.versions())).toEqual(Array(4).fill('2.0.0'));
  });

  it('stops before the next wave when the calendar closes between waves: the changed hosts roll back, later waves never start', async () => {
    const spec = rollingSpec('calendar-closes', { window: allDay('refuse'), deploymentId: 'calendar-closes' });
    // Host 0 of wave 1 holds its deploy until released, so the calendar surely closes while wave 1 runs.
    const flow = await startFlow(spec, 12, { heldHosts: [0] }, { clock: new SimulatedClock(START) });
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'OPEN' });

    const running = flow.run(spec);
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('calendar-closes', 0)).length).toBeGreaterThan(0);
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'CLOSED' });
    await flow.release(0);
    const run = await running;

    expect(run.status).toBe('FAILED');
    const record = await flow.orchestrator.record('calendar-closes');
    expect(record.status).toBe('ROLLED_BACK');
    expect(record.reason).toMatch(/^ChangeCalendarClosed: before wave 2: change calendar prod-freeze is CLOSED/);
    const counts = await flow.commandCounts();
    for (const host of flow.hosts.slice(0, 3)) expect(counts[host]).toBe(2);
    for (const host of flow.hosts.slice(3)) expect(counts[host]).toBe(0);
    const events = await flow.orchestrator.records.audit.getEvents('calendar-closes');
    expect(events).toContainEqual(expect.objectContaining({ type: 'ChangeCalendarClosed', wave: 1, calendar: 'prod-freeze' }));
    expect(await flow.lockHolder(spec)).toBeUndefined();
  });

  it('pauses before the next wave when the calendar closes and the spec says wait, and goes on once resumed with the calendar open', async () => {
    const spec = rollingSpec('calendar-pause', { window: allDay('wait'), deploymentId: 'calendar-pause' });
    const flow = await startFlow(spec, 12, { heldHosts: [0] }, { clock: new SimulatedClock(START) });
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'OPEN' });

    const running = flow.run(spec);
    await expect.poll(async () => (await flow.orchestrator.records.waves.getWaveCommands('calendar-pause', 0)).length).toBeGreaterThan(0);
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'CLOSED' });
    await flow.release(0);
    await flow.waitForGate('calendar-pause', 'resume');

    expect(Object.values(await flow.commandCounts()).filter((n) => n > 0)).toHaveLength(3);
    expect((await flow.orchestrator.record('calendar-pause')).control).toMatchObject({
      action: 'PAUSE',
      by: 'deployctl (change calendar prod-freeze)',
    });
    await writeLocalCalendar(flow.fleetDir, 'prod-freeze', { State: 'OPEN' });
    await flow.orchestrator.control({ deploymentId: 'calendar-pause', action: 'resume', by: 'grace' });
    const run = await running;

    expect(run.status).toBe('SUCCEEDED');
    expect(Object.values(await flow.versions())).toEqual(Array(12).fill('2.0.0'));
  });
});
