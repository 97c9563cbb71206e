import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { LocalFleet, type LocalHost } from '../../lambdas/adapters/local/fleet.ts';
import { LocalTraffic } from '../../lambdas/adapters/local/traffic.ts';
import { planWaves } from '../../lambdas/core/plan.ts';
import type { DeploymentSpec } from '../../lambdas/core/spec.ts';
import { createTable, type LocalDynamo, startDynamoDbLocal } from './dynamodb.ts';
import { LocalOrchestrator, type LocalOrchestratorOptions } from './runner.ts';
import { type SynthesizedOrchestrator, synthesizeOrchestrator } from './synth.ts';

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
}

/** Lets a held host's deploy finish. */
export async function releaseHost(dir: string, instanceId: string): Promise<void> {
  await writeFile(path.join(dir, instanceId, 'release'), '');
}

/** Blue-green on the local fleet: the first half of the hosts is blue, the rest green, behind one local listener. */
export const LOCAL_LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/local/0123456789abcdef/fedcba9876543210';
export const LOCAL_BLUE_TG = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef';
export const LOCAL_GREEN_TG = 'arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/green/0123456789abcdef';

/** The instance id of the n-th local host (0-based). */
export function localInstanceId(n: number): string {
  return `i-${(n + 1).toString(16).padStart(17, '0')}`;
}

/**
 * Creates a fleet of `count` hosts tagged for `spec`'s app and environment,
 * with faults planted as real host behaviour: hooks that fail, hosts that
 * report unhealthy, agents that are offline.
 */
export async function createLocalFleet(
  dir: string,
  spec: Pick<DeploymentSpec, 'app' | 'environment' | 'strategy'>,
  count: number,
  faults: FleetFaults = {},
) {
  await rm(dir, { recursive: true, force: true });
  const ids = Array.from({ length: count }, (_, n) => localInstanceId(n));
  const offline = new Set(faults.offlineHosts ?? []);
  const blueGreen = spec.strategy.type === 'blueGreen';
  const color = (n: number) => (n < Math.floor(count / 2) ? 'blue' : 'green');
  const hosts: LocalHost[] = ids.map((instanceId, n) => ({
    instanceId,
    tags: { app: spec.app, environment: spec.environment, ...(blueGreen ? { color: color(n) } : {}) },
    online: !offline.has(n),
  }));
  await LocalFleet.create(dir, hosts);
  // Every local listener starts with all traffic on blue.
  await LocalTraffic.create(`${dir}.traffic.json`, {
    [LOCAL_LISTENER]: [
      { targetGroupArn: LOCAL_BLUE_TG, weight: 100 },
      { targetGroupArn: LOCAL_GREEN_TG, weight: 0 },
    ],
  });
  const hook = async (n: number, action: string, body: string) => {
    const hooks = path.join(dir, localInstanceId(n), 'opt', 'deployctl', spec.app, 'hooks');
    await mkdir(hooks, { recursive: true });
    await writeFile(path.join(hooks, action), `#!/bin/sh\n${body}\n`);
    await chmod(path.join(hooks, action), 0o755);
  };
  for (const n of faults.failingHosts ?? []) await hook(n, 'deploy', 'echo "simulated install failure of $1" >&2\nexit 1');
  for (const n of faults.heldHosts ?? []) {
    await hook(n, 'deploy', 'while [ ! -f "$DEPLOYCTL_ROOT/release" ]; do sleep 0.05; done');
  }
  if (faults.alarmInWave !== undefined) {
    const targets = blueGreen ? ids.filter((_, n) => color(n) === 'green') : ids;
    const waves = planWaves({ ...(spec as DeploymentSpec), strategy: spec.strategy }, targets);
    const first = waves[faults.alarmInWave - 1]?.[0];
    if (!first) throw new Error(`alarmInWave ${faults.alarmInWave}: the plan has only ${waves.length} waves`);
    const n = ids.indexOf(first);
    await hook(n, 'deploy', 'echo unhealthy > "$DEPLOYCTL_ROOT/health"');
    await hook(n, 'rollback', 'echo healthy > "$DEPLOYCTL_ROOT/health"');
  }
  return ids;
}

export interface LocalSession {
  readonly orchestrator: LocalOrchestrator;
  readonly dynamo: LocalDynamo | undefined;
  close(): Promise<void>;
}

let synthesized: SynthesizedOrchestrator | undefined;

/** The synthesized stack, once per process. */
export function orchestratorDefinition(): SynthesizedOrchestrator {
  synthesized ??= synthesizeOrchestrator();
  return synthesized;
}

/**
 * Starts what local mode needs: the synthesized state machines, DynamoDB
 * Local (started here unless an endpoint is given) with the table.
 */
export async function startLocalSession(
  options: Omit<LocalOrchestratorOptions, 'synthesized' | 'endpoint' | 'tableName'> & { endpoint?: string; tableName?: string },
): Promise<LocalSession> {
  const definition = orchestratorDefinition();
  const dynamo = options.endpoint ? undefined : await startDynamoDbLocal();
  const endpoint = options.endpoint ?? (dynamo as LocalDynamo).endpoint;
  const tableName = options.tableName ?? 'deployctl';
  await createTable(endpoint, tableName, definition.table);
  const orchestrator = new LocalOrchestrator({ ...options, synthesized: definition, endpoint, tableName });
  return { orchestrator, dynamo, close: async () => dynamo?.stop() };
}
