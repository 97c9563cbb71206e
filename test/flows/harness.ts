import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inject } from 'vitest';
import type { LocalOrchestrator, LocalRun } from '../../cli/local/runner.ts';
import { createLocalFleet, type FleetFaults, startLocalSession } from '../../cli/local/session.ts';
import { type DeploymentSpecInput, parseSpec } from '../../lambdas/core/spec.ts';

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

export interface Flow {
  readonly orchestrator: LocalOrchestrator;
  readonly fleetDir: string;
  readonly hosts: string[];
  run(spec: DeploymentSpecInput, executionName?: string): Promise<LocalRun>;
  /** The version in each host's `current` file (undefined: never installed). */
  versions(): Promise<Record<string, string | undefined>>;
  /** How many commands each host has received. */
  commandCounts(): Promise<Record<string, number>>;
  lockHolder(spec: DeploymentSpecInput): Promise<string | undefined>;
}

/**
 * A local fleet for one spec plus an orchestrator over DynamoDB Local (the
 * run's shared instance, a table of this flow's own) and the synthesized
 * state machine.
 */
export async function startFlow(
  spec: DeploymentSpecInput,
  hostCount: number,
  faults: FleetFaults = {},
  options: { callbackTimeoutMs?: number; bakeMs?: number; dropCommandEvents?: boolean } = {},
): Promise<Flow> {
  const fleetDir = mkdtempSync(path.join(tmpdir(), 'deployctl-flow-'));
  const hosts = await createLocalFleet(fleetDir, parseSpec(spec), hostCount, faults);
  const { orchestrator } = await startLocalSession({
    fleetDir,
    endpoint: inject('dynamoEndpoint'),
    tableName: `flow-${randomUUID()}`,
    ...options,
  });
  return {
    orchestrator,
    fleetDir,
    hosts,
    run: (input, executionName) => orchestrator.execute('rolling', input, executionName ? { executionName } : {}),
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
      for (const host of await readdir(fleetDir)) {
        const log = await readFile(path.join(fleetDir, host, 'commands.log'), 'utf8').catch(() => '');
        out[host] = log.split('\n').filter(Boolean).length;
      }
      return out;
    },
    lockHolder: (s) => orchestrator.records.getLockHolder(s.app, s.environment),
  };
}
