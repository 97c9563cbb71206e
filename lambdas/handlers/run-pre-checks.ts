import { logger, task } from '../commons/powertools.ts';
import type { CheckResult } from '../core/records.ts';
import { DeploymentState } from '../core/state.ts';
import { checkWindow } from '../core/window.ts';
import type { Deps } from './deps.ts';

export class PreCheckFailed extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PreCheckFailed';
  }
}

const SHOWN_HOSTS = 10;

function list(ids: readonly string[]): string {
  return ids.length <= SHOWN_HOSTS ? ids.join(', ') : `${ids.slice(0, SHOWN_HOSTS).join(', ')} and ${ids.length - SHOWN_HOSTS} more`;
}

/** Hosts online in SSM, window open, alarms quiet: each check recorded with its reason. */
export function createRunPreChecks(deps: Deps) {
  return task(async (event: unknown): Promise<DeploymentState> => {
    const state = DeploymentState.parse(event);
    const { spec } = await deps.records.getDeployment(state.deploymentId);
    const now = deps.clock.now();
    const checks: CheckResult[] = [];

    const hosts: string[] = [];
    for (let wave = 0; wave < state.waveCount; wave++) hosts.push(...(await deps.records.getWaveHosts(state.deploymentId, wave)));
    const info = await deps.inventory.pingStatus(hosts);
    const online = new Set(info.filter((h) => h.pingStatus === 'Online').map((h) => h.instanceId));
    const offline = hosts.filter((h) => !online.has(h));
    checks.push({
      name: 'hosts online',
      passed: offline.length === 0,
      reason:
        offline.length === 0
          ? `all ${hosts.length} hosts online in SSM`
          : `${offline.length} of ${hosts.length} hosts not online in SSM: ${list(offline)}`,
    });

    if (spec.window) {
      const window = checkWindow(spec.window, now);
      checks.push({ name: 'maintenance window', passed: window.open, reason: window.reason });
    }

    const selector = spec.gates.alarms;
    if (selector.names?.length || selector.prefix) {
      const alarms = await deps.alarms.describe(selector);
      const firing = alarms.filter((a) => a.state === 'ALARM');
      checks.push({
        name: 'alarms quiet',
        passed: firing.length === 0,
        reason:
          firing.length === 0 ? `${alarms.length} alarms, none in ALARM` : `already in ALARM: ${firing.map((a) => a.name).join(', ')}`,
      });
    }

    await deps.records.updateDeployment(state.deploymentId, { checks }, now);
    await deps.records.appendEvent(state.deploymentId, 'PreChecks', 'deployctl', { checks }, now);
    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0) {
      logger.warn('pre-checks failed', { checks });
      throw new PreCheckFailed(failed.map((c) => `${c.name}: ${c.reason}`).join('; '));
    }
    return state;
  });
}
