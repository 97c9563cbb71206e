import { calendarDecision } from '#app/calendar.ts';
import { createJournal } from '#app/journal.ts';
import { logger } from '#commons/powertools.ts';
import { PreCheckFailed } from '#core/errors.ts';
import { MAX_WINDOW_WAIT_SECONDS } from '#core/limits.ts';
import type { CheckResult } from '#core/records.ts';
import type { DeploymentState } from '#core/state.ts';
import { hostList } from '#core/waves.ts';
import { decideWindow, waitTimestamp } from '#core/window.ts';
import type { Ports } from '#ports';

export type PreCheckPorts = Pick<Ports, 'deployments' | 'waves' | 'inventory' | 'alarms' | 'calendars' | 'audit' | 'events' | 'clock'>;

/**
 * Hosts online in SSM, window open, change calendar OPEN, alarms quiet: each
 * check recorded with its reason (PreCheckFailed names the failed ones). A
 * closed window or CLOSED calendar whose spec says `wait` is not a failure: the checks are put off, the next opening goes
 * into the state as `windowOpensAt`, and the state machine waits for it in a
 * Wait state, then runs the pre-checks again (which find the window open, or
 * wait again).
 */
export async function runPreChecks(ports: PreCheckPorts, input: DeploymentState): Promise<DeploymentState> {
  const { windowOpensAt: waitedFor, ...state } = input;
  const id = state.deploymentId;
  const record = await ports.deployments.getDeployment(id);
  const spec = record.spec;
  const now = ports.clock.now();
  const afterWait = waitedFor ? { windowOpensAt: null } : {};

  // An abort asked for before the pre-checks, typically while the execution waited for its window
  // (nothing wakes a Wait state), is acted on once the wait is over: no checks and no further wait;
  // the controls check that follows ends the deployment ABORTED, with no host changed.
  if (record.control?.action === 'ABORT') {
    logger.info('abort requested before the pre-checks; the controls check acts on it', { deploymentId: id });
    if (waitedFor) await ports.deployments.updateDeployment(id, afterWait, now);
    return state;
  }

  const latestOpening = new Date(Date.parse(record.createdAt) + MAX_WINDOW_WAIT_SECONDS * 1000);
  const window = spec.window ? decideWindow(spec.window, now, latestOpening) : undefined;
  // The change calendar is read only when the window itself lets the deployment go on or refuses it.
  const calendarName = spec.window?.changeCalendar;
  const calendar =
    spec.window && calendarName && window?.action !== 'wait'
      ? await calendarDecision(ports, calendarName, spec.window.outside, now, latestOpening)
      : undefined;
  const wait = window?.action === 'wait' ? window : window?.action === 'go' && calendar?.action === 'wait' ? calendar : undefined;
  if (wait) {
    const opensAt = waitTimestamp(wait.until);
    await ports.deployments.updateDeployment(id, { windowOpensAt: opensAt }, now);
    await createJournal(ports).announce(
      {
        deploymentId: id,
        event: { type: 'WaitingForWindow', actor: 'deployctl', detail: { opensAt, reason: wait.reason } },
        status: { app: spec.app, environment: spec.environment, status: 'WAITING_FOR_WINDOW', opensAt },
      },
      now,
    );
    logger.info(`${wait === window ? 'maintenance window' : 'change calendar'} closed: waiting for its next opening`, {
      deploymentId: id,
      opensAt,
    });
    return { ...state, windowOpensAt: opensAt };
  }

  const checks: CheckResult[] = [];
  const hosts: string[] = [];
  for (let wave = 0; wave < state.waveCount; wave++) hosts.push(...(await ports.waves.getWaveHosts(id, wave)));
  const info = await ports.inventory.pingStatus(hosts);
  const online = new Set(info.filter((h) => h.pingStatus === 'Online').map((h) => h.instanceId));
  const offline = hosts.filter((h) => !online.has(h));
  checks.push({
    name: 'hosts online',
    passed: offline.length === 0,
    reason:
      offline.length === 0
        ? `all ${hosts.length} hosts online in SSM`
        : `${offline.length} of ${hosts.length} hosts not online in SSM: ${hostList(offline)}`,
  });

  if (window) checks.push({ name: 'maintenance window', passed: window.action === 'go', reason: window.reason });
  if (calendar) checks.push({ name: 'change calendar', passed: calendar.action === 'go', reason: calendar.reason });

  const selector = spec.gates.alarms;
  if (selector.names?.length || selector.prefix) {
    const alarms = await ports.alarms.describe(selector);
    const firing = alarms.filter((a) => a.state === 'ALARM');
    checks.push({
      name: 'alarms quiet',
      passed: firing.length === 0,
      reason: firing.length === 0 ? `${alarms.length} alarms, none in ALARM` : `already in ALARM: ${firing.map((a) => a.name).join(', ')}`,
    });
  }

  await ports.deployments.updateDeployment(id, { checks, ...afterWait }, now);
  await ports.audit.appendEvent(id, 'PreChecks', 'deployctl', { checks }, now);
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) {
    logger.warn('pre-checks failed', { checks });
    throw new PreCheckFailed(failed.map((c) => `${c.name}: ${c.reason}`).join('; '));
  }
  return state;
}
