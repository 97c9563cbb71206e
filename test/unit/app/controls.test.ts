import { describe, expect, it } from 'vitest';
import { checkControls } from '#app/controls.ts';
import { ChangeCalendarClosed, DeploymentAborted } from '#core/errors.ts';
import { DEPLOYMENT_ID, stateOf } from '#test/support/fixtures.ts';
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

describe('checkControls with a change calendar', () => {
  const allDay = { cron: '0 0 * * *', durationMinutes: 1440, timezone: 'UTC', changeCalendar: 'prod-freeze' } as const;

  it('reads the calendar before a wave and goes on while it is OPEN', async () => {
    const { ports } = await runningDeployment({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'OPEN' });

    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 2 }))).resolves.toMatchObject({ gate: 'go' });
    expect(ports.calendars.asked).toEqual([{ name: 'prod-freeze', at: '2026-03-02T10:00:00.000Z' }]);
  });

  it('stops before the next wave with ChangeCalendarClosed, recorded in the audit trail, when it closed and the window says refuse', async () => {
    const { ports } = await runningDeployment({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED', nextTransitionTime: new Date('2026-03-02T18:00:00Z') });

    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 3 }))).rejects.toThrow(
      new ChangeCalendarClosed('before wave 2: change calendar prod-freeze is CLOSED until 2026-03-02T18:00:00.000Z'),
    );
    expect(await ports.audit.getEvents(DEPLOYMENT_ID)).toEqual([
      expect.objectContaining({
        type: 'ChangeCalendarClosed',
        actor: 'deployctl',
        wave: 1,
        calendar: 'prod-freeze',
        reason: 'change calendar prod-freeze is CLOSED until 2026-03-02T18:00:00.000Z',
      }),
    ]);
  });

  it('stops before a traffic step too', async () => {
    const { ports } = await runningDeployment({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED' });

    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 1, trafficStep: 0, trafficSteps: 2 }))).rejects.toBeInstanceOf(
      ChangeCalendarClosed,
    );
  });

  it('pauses, held by the calendar, when it closed and the window says wait', async () => {
    const { ports } = await runningDeployment({ window: { ...allDay, outside: 'wait' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED', nextTransitionTime: new Date('2026-03-02T18:00:00Z') });

    await expect(checkControls(ports, stateOf({ wave: 1, waveCount: 2 }))).resolves.toMatchObject({ gate: 'paused' });

    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).control).toEqual({
      action: 'PAUSE',
      by: 'deployctl (change calendar prod-freeze)',
      at: '2026-03-02T10:00:00.000Z',
      comment: 'change calendar prod-freeze is CLOSED until 2026-03-02T18:00:00.000Z',
    });
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual(['PausedByChangeCalendar']);
  });

  it('does not read the calendar after the last step: nothing is left to change', async () => {
    const { ports } = await runningDeployment({ window: { ...allDay, outside: 'refuse' } });
    ports.calendars.states.set('prod-freeze', { state: 'CLOSED' });

    await expect(checkControls(ports, stateOf({ wave: 2, waveCount: 2 }))).resolves.toMatchObject({ gate: 'go' });
    expect(ports.calendars.asked).toEqual([]);
  });
});
