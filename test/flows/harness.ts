import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inject, vi } from 'vitest';
import type { SimulatedClock } from '#cli/local/clock.ts';
import type { LocalEventListener, LocalRegion, LocalRun, ServiceFaults } from '#cli/local/region.ts';
import {
  createLocalFleet,
  type FleetFaults,
  LOCAL_BLUE_TG,
  LOCAL_GREEN_TG,
  LOCAL_LISTENER,
  releaseHost,
  startLocalSession,
} from '#cli/local/session.ts';
import type { StrategyName } from '#cli/local/synth-types.ts';
import { DeploymentSpec, type DeploymentSpecInput, parseSpec } from '#core/spec.ts';

/** A rolling spec for `app` on the hosts tagged for it; fields override. */
export function rollingSpec(app: string, overrides: Partial<DeploymentSpecInput> = {}): DeploymentSpecInput {
  return {
    app,
    environment: 'test',
    version: '2.0.0',
    previousVersion: '1.0.0',
    targets: { tags: { app, environment: 'test' } },
    strategy: { type: 'rolling', batchSize: '25%', maxErrors: 0 },
    gates: { alarms: { names: [`${app}-health`] } },
    requestedBy: 'flow test',
    ...overrides,
  };
}

/** A blue-green spec: blue and green halves of the local fleet behind the local listener. */
export function blueGreenSpec(app: string, strategy: Record<string, unknown> = {}, overrides: Partial<DeploymentSpecInput> = {}) {
  return rollingSpec(app, {
    strategy: {
      type: 'blueGreen',
      blue: { tags: { app, environment: 'test', color: 'blue' } },
      green: { tags: { app, environment: 'test', color: 'green' } },
      listenerArn: LOCAL_LISTENER,
      blueTargetGroupArn: LOCAL_BLUE_TG,
      greenTargetGroupArn: LOCAL_GREEN_TG,
      keepBlueSeconds: 600,
      ...strategy,
    } as DeploymentSpecInput['strategy'],
    ...overrides,
  });
}

/** The state machine a spec runs on (an invalid spec: rolling's, which refuses it). */
export function strategyOf(spec: DeploymentSpecInput): StrategyName {
  const parsed = DeploymentSpec.safeParse(spec);
  return parsed.success ? parsed.data.strategy.type : 'rolling';
}

export interface Flow {
  /** The local region the flow runs in: its interpreter, records, bus, controls. */
  readonly orchestrator: LocalRegion;
  readonly fleetDir: string;
  readonly hosts: string[];
  run(spec: DeploymentSpecInput, executionName?: string, onEvent?: LocalEventListener): Promise<LocalRun>;
  /** Lets a held host (FleetFaults.heldHosts, by index) finish its deploy. */
  release(n: number): Promise<void>;
  /** Green's share of the local listener after each shift, oldest first. */
  greenWeights(): Promise<number[]>;
  /** The record's gate, once the execution waits at one. */
  waitForGate(deploymentId: string, kind: 'approval' | 'resume'): Promise<void>;
  /** The version in each host's `current` file (undefined: never installed). */
  versions(): Promise<Record<string, string | undefined>>;
  /** How many commands each host has received. */
  commandCounts(): Promise<Record<string, number>>;
  lockHolder(spec: DeploymentSpecInput): Promise<string | undefined>;
}

/**
 * A local fleet for one spec plus a local region over DynamoDB Local (the
 * run's shared instance, a table of this flow's own) and the synthesized
 * state machine.
 */
export async function startFlow(
  spec: DeploymentSpecInput,
  hostCount: number,
  faults: FleetFaults = {},
  options: {
    callbackTimeoutMs?: number;
    bakeMs?: number;
    dropCommandEvents?: boolean;
    clock?: SimulatedClock;
    faults?: ServiceFaults;
  } = {},
): Promise<Flow> {
  const fleetDir = mkdtempSync(path.join(tmpdir(), 'deployctl-flow-'));
  const hosts = await createLocalFleet(fleetDir, parseSpec(spec), hostCount, faults);
  const { region: orchestrator } = await startLocalSession({
    fleetDir,
    endpoint: inject('dynamoEndpoint'),
    tableName: `flow-${randomUUID()}`,
    ...options,
  });
  return {
    orchestrator,
    fleetDir,
    hosts,
    run: (input, executionName, onEvent) =>
      orchestrator.execute(strategyOf(input), input, { ...(executionName ? { executionName } : {}), ...(onEvent ? { onEvent } : {}) }),
    release: (n) => releaseHost(fleetDir, hosts[n] as string),
    async greenWeights() {
      const history = await orchestrator.traffic.history(LOCAL_LISTENER);
      return history.map((weights) => weights.find((w) => w.targetGroupArn === LOCAL_GREEN_TG)?.weight ?? 0);
    },
    async waitForGate(deploymentId, kind) {
      await vi.waitFor(
        async () => {
          const gate = (await orchestrator.record(deploymentId).catch(() => undefined))?.gate;
          if (gate?.kind !== kind) throw new Error(`no ${kind} gate yet`);
        },
        { timeout: 20_000, interval: 25 },
      );
    },
    async versions() {
      const out: Record<string, string | undefined> = {};
      for (const host of hosts) {
        out[host] = await readFile(path.join(fleetDir, host, 'opt', 'deployctl', spec.app, 'current'), 'utf8')
          .then((s) => s.trim())
          .catch(() => undefined);
      }
      return out;
    },
    async commandCounts() {
      const out: Record<string, number> = {};
      // Host folders only: the fleet folder also holds files of the local services (change-calendars.json).
      for (const entry of await readdir(fleetDir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const host = entry.name;
        const log = await readFile(path.join(fleetDir, host, 'commands.log'), 'utf8').catch(() => '');
        out[host] = log.split('\n').filter(Boolean).length;
      }
      return out;
    },
    lockHolder: (s) => orchestrator.records.locks.getLockHolder(s.app, s.environment),
  };
}
