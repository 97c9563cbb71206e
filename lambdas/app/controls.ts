import { calendarDecision } from '#app/calendar.ts';
import { logger } from '#commons/powertools.ts';
import { abortMessage, needsApproval, nextStep } from '#core/controls.ts';
import { ChangeCalendarClosed, DeploymentAborted } from '#core/errors.ts';
import { MAX_WINDOW_WAIT_SECONDS } from '#core/limits.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Ports } from '#ports';

export type ControlPorts = Pick<Ports, 'deployments' | 'calendars' | 'audit' | 'clock'>;

/** Who holds a deployment that its CLOSED change calendar paused (`window.outside: wait`). */
export function calendarActor(name: string): string {
  return `deployctl (change calendar ${name})`;
}

/**
 * The safe point before each wave (and after the last): acts on an abort
 * (DeploymentAborted), holds for a pause, checks the spec's change calendar
 * again before a wave or a traffic step, and says whether the next wave needs
 * an approval. A calendar CLOSED here stops the deployment before its next
 * step: under `window.outside: refuse` with ChangeCalendarClosed (the
 * failure path rolls back), under `wait` as a pause held by the calendar,
 * which `resume` lifts (the calendar is read again then).
 */
export async function checkControls(ports: ControlPorts, state: DeploymentState): Promise<DeploymentState> {
  const id = state.deploymentId;
  const record = await ports.deployments.getDeployment(id);
  const control = record.control;
  if (control?.action === 'ABORT') throw new DeploymentAborted(abortMessage(control));
  if (control?.action === 'PAUSE') {
    logger.info('paused before the next wave', { deploymentId: id, by: control.by });
    return { ...state, gate: 'paused' };
  }

  const window = record.spec.window;
  const calendarName = window?.changeCalendar;
  if (window && calendarName && nextStep(state) !== 'done') {
    const now = ports.clock.now();
    const latestOpening = new Date(Date.parse(record.createdAt) + MAX_WINDOW_WAIT_SECONDS * 1000);
    // Before every step the calendar must be OPEN: a wait here cannot sleep, so `wait` pauses instead.
    const decision = await calendarDecision(ports, calendarName, window.outside, now, latestOpening);
    if (decision.action !== 'go') {
      const detail = { wave: state.wave, calendar: calendarName, reason: decision.reason };
      if (window.outside === 'refuse') {
        await ports.audit.appendEvent(id, 'ChangeCalendarClosed', 'deployctl', detail, now);
        logger.warn('change calendar closed before the next step: stopping', { deploymentId: id, ...detail });
        throw new ChangeCalendarClosed(`before wave ${state.wave + 1}: ${decision.reason}`);
      }
      const by = calendarActor(calendarName);
      await ports.deployments.updateDeployment(
        id,
        { control: { action: 'PAUSE', by, at: now.toISOString(), comment: decision.reason } },
        now,
      );
      await ports.audit.appendEvent(id, 'PausedByChangeCalendar', by, detail, now);
      logger.info('change calendar closed before the next step: paused', { deploymentId: id, ...detail });
      return { ...state, gate: 'paused' };
    }
  }
  return { ...state, gate: needsApproval(state, record.spec.gates.approval) ? 'approval' : 'go' };
}
