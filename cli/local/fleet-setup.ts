import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DISCONNECT_MARKER, LocalFleet, type LocalHost } from '#adapters/local/fleet.ts';
import { LocalTraffic } from '#adapters/local/traffic.ts';
import { DEFAULT_MANAGED_TAG } from '#core/managed-tag.ts';
import { planWaves } from '#core/plan.ts';
import type { DeploymentSpec } from '#core/spec.ts';

/** Faults to plant in a local fleet. */
export interface FleetFaults {
  /** Hosts (by index in id order) whose deploy hook fails. */
  readonly failingHosts?: readonly number[];
  /** Hosts (by index) whose SSM agent is disconnected. */
  readonly offlineHosts?: readonly number[];
  /** A host of this wave (1-based) reports unhealthy after its deploy, which puts the alarms in ALARM. */
  readonly alarmInWave?: number;
  /** Hosts (by index) whose deploy waits until `releaseHost` is called: a wave that is still running. */
  readonly heldHosts?: readonly number[];
  /** Hosts (by index) online for the pre-checks whose agent drops as their first command arrives: offline mid-deployment. */
  readonly disconnectingHosts?: readonly number[];
}

/** Blue-green on the local fleet: the first half of an app's hosts is blue, the rest green, behind one local listener. */
export const LOCAL_LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/local/0123456789abcdef/fedcba9876543210';
export const LOCAL_BLUE_TG = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef';
export const LOCAL_GREEN_TG = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/0123456789abcdef';

/** Hosts a new local fleet gets for an app and environment. */
export const DEFAULT_LOCAL_HOSTS = 12;

/** The instance id of the n-th local host (0-based). */
export function localInstanceId(n: number): string {
  return `i-${(n + 1).toString(16).padStart(17, '0')}`;
}

/** Lets a held host's deploy finish. */
export async function releaseHost(dir: string, instanceId: string): Promise<void> {
  await writeFile(path.join(dir, instanceId, 'release'), '');
}

/** The local fleet cannot serve the deployment as asked. */
export class FleetMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetMismatch';
  }
}

type FleetSpec = Pick<DeploymentSpec, 'app' | 'environment' | 'strategy'>;

export interface PrepareOptions {
  /** Hosts for the app+env; a fleet that already has a different number is refused. @default 12 for a new fleet */
  readonly hosts?: number;
  readonly faults?: FleetFaults;
  /** Start from an empty fleet. */
  readonly reset?: boolean;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Every host of the fleet folder, in id order. */
export async function readHosts(dir: string): Promise<LocalHost[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const hosts: LocalHost[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const file = path.join(dir, entry.name, 'host.json');
    if (await exists(file)) hosts.push(JSON.parse(await readFile(file, 'utf8')) as LocalHost);
  }
  return hosts.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

/**
 * Makes the local fleet ready for a deployment of `spec`, keeping what is
 * there: the hosts of the app+env (created on first use, tagged for it, the
 * first half blue and the rest green, all with the managed tag that SendCommand
 * requires), their installed versions, and the local
 * listener. The faults of the previous run are cleared and this run's planted,
 * as real host behaviour: hooks that fail, hosts that report unhealthy, agents
 * that are offline. Returns the app+env's instance ids.
 */
export async function prepareLocalFleet(dir: string, spec: FleetSpec, options: PrepareOptions = {}): Promise<string[]> {
  if (options.reset) {
    await rm(dir, { recursive: true, force: true });
    await rm(`${dir}.traffic.json`, { force: true });
  }
  await mkdir(dir, { recursive: true });
  const all = await readHosts(dir);
  const ours = (host: LocalHost) => host.tags.app === spec.app && host.tags.environment === spec.environment;
  let hosts = all.filter(ours);
  if (hosts.length === 0) {
    const count = options.hosts ?? DEFAULT_LOCAL_HOSTS;
    const first = all.length;
    const half = Math.floor(count / 2);
    hosts = Array.from({ length: count }, (_, n) => ({
      instanceId: localInstanceId(first + n),
      // The managed tag: SendCommand reaches only hosts that carry it, locally as on AWS.
      tags: {
        app: spec.app,
        environment: spec.environment,
        color: n < half ? 'blue' : 'green',
        [DEFAULT_MANAGED_TAG.key]: DEFAULT_MANAGED_TAG.value,
      },
      online: true,
    }));
  } else if (options.hosts !== undefined && options.hosts !== hosts.length) {
    throw new FleetMismatch(
      `the local fleet has ${hosts.length} hosts for ${spec.app}/${spec.environment}, not ${options.hosts}; drop --hosts, or add --reset-fleet to start a new fleet`,
    );
  }
  const offline = new Set(options.faults?.offlineHosts ?? []);
  // Hosts kept from a fleet made before SendCommand required the managed tag get it too.
  hosts = hosts.map((host, n) => ({
    ...host,
    tags: { ...host.tags, [DEFAULT_MANAGED_TAG.key]: DEFAULT_MANAGED_TAG.value },
    online: !offline.has(n),
  }));
  await LocalFleet.create(dir, hosts);
  if (!(await exists(`${dir}.traffic.json`))) {
    // Every local listener starts with all traffic on blue.
    await LocalTraffic.create(`${dir}.traffic.json`, {
      [LOCAL_LISTENER]: [
        { targetGroupArn: LOCAL_BLUE_TG, weight: 100 },
        { targetGroupArn: LOCAL_GREEN_TG, weight: 0 },
      ],
    });
  }
  await plantFaults(dir, spec, hosts, options.faults ?? {});
  return hosts.map((h) => h.instanceId);
}

/** A new fleet of `count` hosts for `spec` (what the flow tests start from). */
export async function createLocalFleet(dir: string, spec: FleetSpec, count: number, faults: FleetFaults = {}): Promise<string[]> {
  return prepareLocalFleet(dir, spec, { hosts: count, faults, reset: true });
}

async function plantFaults(dir: string, spec: FleetSpec, hosts: readonly LocalHost[], faults: FleetFaults): Promise<void> {
  const hooksOf = (n: number) => path.join(dir, (hosts[n] as LocalHost).instanceId, 'opt', 'deployctl', spec.app, 'hooks');
  for (let n = 0; n < hosts.length; n++) await rm(hooksOf(n), { recursive: true, force: true });
  const check = (n: number, flag: string) => {
    if (!hosts[n]) throw new FleetMismatch(`${flag}: host ${n + 1} does not exist; the fleet has ${hosts.length} hosts`);
  };
  const hook = async (n: number, action: string, body: string) => {
    await mkdir(hooksOf(n), { recursive: true });
    await writeFile(path.join(hooksOf(n), action), `#!/bin/sh\n${body}\n`);
    await chmod(path.join(hooksOf(n), action), 0o755);
  };
  for (const n of faults.offlineHosts ?? []) check(n, 'offline host');
  for (const [n, host] of hosts.entries()) {
    const marker = path.join(dir, host.instanceId, DISCONNECT_MARKER);
    if ((faults.disconnectingHosts ?? []).includes(n)) await writeFile(marker, 'the agent drops when the next command arrives\n');
    else await rm(marker, { force: true });
  }
  for (const n of faults.disconnectingHosts ?? []) check(n, 'disconnecting host');
  for (const n of faults.failingHosts ?? []) {
    check(n, 'failing host');
    await hook(n, 'deploy', 'echo "simulated install failure of $1" >&2\nexit 1');
  }
  for (const n of faults.heldHosts ?? []) {
    check(n, 'held host');
    await rm(path.join(dir, (hosts[n] as LocalHost).instanceId, 'release'), { force: true });
    await hook(n, 'deploy', 'while [ ! -f "$DEPLOYCTL_ROOT/release" ]; do sleep 0.05; done');
  }
  if (faults.alarmInWave !== undefined) {
    const ids = hosts.map((h) => h.instanceId);
    const targets = spec.strategy.type === 'blueGreen' ? hosts.filter((h) => h.tags.color === 'green').map((h) => h.instanceId) : ids;
    const waves = planWaves({ ...(spec as DeploymentSpec), strategy: spec.strategy }, targets);
    const first = waves[faults.alarmInWave - 1]?.[0];
    if (!first) throw new FleetMismatch(`alarm in wave ${faults.alarmInWave}: the plan has only ${waves.length} waves`);
    const n = ids.indexOf(first);
    await hook(n, 'deploy', 'echo unhealthy > "$DEPLOYCTL_ROOT/health"');
    await hook(n, 'rollback', 'echo healthy > "$DEPLOYCTL_ROOT/health"');
  }
}
