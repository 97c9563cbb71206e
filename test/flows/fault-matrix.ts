import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { expect, vi } from 'vitest';
import type { ServiceFaults } from '#cli/local/faults.ts';
import type { FleetFaults } from '#cli/local/session.ts';
import type { DeploymentStatus } from '#core/records.ts';
import { type DeploymentSpecInput, parseSpec } from '#core/spec.ts';
import { blueGreenSpec, type Flow, rollingSpec, startFlow } from '#test/flows/harness.ts';

/**
 * The fault matrix (issue 7): every fault against every strategy, on the
 * local fleet and the synthesized state machines. Each run asserts the final
 * status, which hosts run which version, that no host got the same command
 * twice, the lock, and the audit trail. `faultTable()` renders the same table
 * for the README, and a test keeps the README's copy equal to it.
 */

export type Strategy = 'allAtOnce' | 'rolling' | 'canary' | 'linear' | 'blueGreen';
export const STRATEGIES: readonly Strategy[] = ['allAtOnce', 'rolling', 'canary', 'linear', 'blueGreen'];

/** 8 local hosts. Wave strategies deploy to all 8; blue-green to green (hosts 4-7), blue (0-3) stays as it is. */
const HOSTS = 8;
const GREEN = [4, 5, 6, 7];

/** The waves (host indexes) each strategy's plan makes of the 8 hosts. */
const WAVES: Record<Strategy, number[][]> = {
  allAtOnce: [[0, 1, 2, 3, 4, 5, 6, 7]],
  rolling: [
    [0, 1],
    [2, 3],
    [4, 5],
    [6, 7],
  ],
  canary: [[0], [1, 2, 3], [4, 5, 6, 7]],
  linear: [
    [0, 1],
    [2, 3],
    [4, 5],
    [6, 7],
  ],
  blueGreen: [GREEN],
};

const STRATEGY_SPEC: Record<Exclude<Strategy, 'blueGreen'>, DeploymentSpecInput['strategy']> = {
  allAtOnce: { type: 'allAtOnce', maxErrors: 0 },
  rolling: { type: 'rolling', batchSize: 2, maxErrors: 0 },
  canary: { type: 'canary', stages: [10, 50, 100], bakeSeconds: 60, maxErrors: 0 },
  linear: { type: 'linear', stepPercent: 25, intervalSeconds: 60, maxErrors: 0 },
};

/** The wave a fault strikes: the second where there is one, so that a wave has already succeeded. */
const faultWave = (strategy: Strategy) => Math.min(1, WAVES[strategy].length - 1);
/** The host a fault strikes: the last of that wave. */
const faultHost = (strategy: Strategy) => WAVES[strategy][faultWave(strategy)]?.at(-1) ?? 0;

/** What a run must show. */
interface Expected {
  readonly status: DeploymentStatus;
  /** Per host index: the version it must run at the end (undefined: never installed). */
  readonly versions: (strategy: Strategy) => readonly (string | undefined)[];
  /** Audit event types the trail must hold. */
  readonly events: readonly string[];
  /** What the record's reason says. */
  readonly reason?: RegExp;
}

export interface Fault {
  readonly name: string;
  /** How the fault is played locally (for the README). */
  readonly how: string;
  /** What the hosts run afterwards (for the README; `expected().versions` checks it). */
  readonly hosts: string;
  readonly fleet?: (strategy: Strategy) => FleetFaults;
  readonly services?: (strategy: Strategy) => ServiceFaults;
  readonly flow?: { readonly dropCommandEvents?: boolean; readonly callbackTimeoutMs?: number };
  /** Runs the deployment (default: runs it to its end). */
  readonly drive?: (flow: Flow, spec: DeploymentSpecInput, strategy: Strategy) => Promise<void>;
  /** Set up before the run (a lock already held...). */
  readonly before?: (flow: Flow, spec: DeploymentSpecInput) => Promise<void>;
  readonly expected: (strategy: Strategy) => Expected;
  /** The lock holder after the run (default: nobody). */
  readonly lockAfter?: string;
}

const NEW = '2.0.0';
const OLD = '1.0.0';

/** Every deployed host at the new version, the others untouched. */
const allNew = (strategy: Strategy) =>
  Array.from({ length: HOSTS }, (_, n) => (strategy === 'blueGreen' && !GREEN.includes(n) ? undefined : NEW));
/** Nothing installed anywhere. */
const untouched = () => Array.from({ length: HOSTS }, () => undefined);

/**
 * After a failure in the fault wave: wave strategies roll every commanded host
 * back to the previous version (a host the command never reached stays as it
 * was); blue-green switches traffic back to blue and leaves green as it is.
 */
const rolledBack =
  (notReached: 'none' | 'faultHost', greenFailed: 'faultHost' | 'none') =>
  (strategy: Strategy): (string | undefined)[] => {
    const versions: (string | undefined)[] = untouched();
    if (strategy === 'blueGreen') {
      for (const n of GREEN) versions[n] = NEW;
      if (greenFailed === 'faultHost') versions[faultHost(strategy)] = undefined;
      return versions;
    }
    for (const wave of WAVES[strategy].slice(0, faultWave(strategy) + 1)) for (const n of wave) versions[n] = OLD;
    if (notReached === 'faultHost') versions[faultHost(strategy)] = undefined;
    return versions;
  };

const ROLLBACK_EVENTS = (strategy: Strategy) =>
  strategy === 'blueGreen' ? ['TrafficSwitchedBack'] : ['RollbackStarted', 'RollbackFinished'];

const succeeded = (strategy: Strategy): Expected => ({
  status: 'SUCCEEDED',
  versions: allNew,
  events: ['LockAcquired', 'WaveStarted', 'WaveFinished', 'DeploymentFinished', ...(strategy === 'blueGreen' ? ['TrafficShifted'] : [])],
});

export const FAULTS: readonly Fault[] = [
  {
    name: 'host command failure',
    how: "the last host of wave 2 (green's for blue-green) fails its deploy hook",
    hosts: 'waves 1-2 back on the previous version; blue-green: traffic back on blue, green left as it is',
    fleet: (s) => ({ failingHosts: [faultHost(s)] }),
    expected: (s) => ({
      status: 'ROLLED_BACK',
      versions: rolledBack('none', 'faultHost'),
      events: ['WaveFinished', ...ROLLBACK_EVENTS(s), 'DeploymentFinished'],
      reason: /1 of \d+ hosts failed/,
    }),
  },
  {
    name: 'host offline mid-deployment',
    how: 'that host passes the pre-checks, then its SSM agent drops as the command arrives (DeliveryTimedOut)',
    hosts: 'as above, except the offline host: never reached, so neither deployed nor rolled back',
    fleet: (s) => ({ disconnectingHosts: [faultHost(s)] }),
    expected: (s) => ({
      status: 'ROLLED_BACK',
      versions: rolledBack('faultHost', 'faultHost'),
      events: ['WaveFinished', ...ROLLBACK_EVENTS(s), 'DeploymentFinished'],
      reason: /1 of \d+ hosts failed/,
    }),
  },
  {
    name: 'SSM status event never arrives',
    how: 'every "EC2 Command Status-change Notification" is dropped; each wait times out after 300 ms and one ListCommandInvocations read settles the wave',
    hosts: 'all on the new version',
    flow: { dropCommandEvents: true, callbackTimeoutMs: 300 },
    expected: succeeded,
  },
  {
    name: 'SSM throttling',
    how: 'the first 3 SSM calls fail with ThrottlingException; the state machine retries the task with backoff',
    hosts: 'all on the new version',
    services: () => ({ ssmThrottles: 3 }),
    expected: succeeded,
  },
  {
    name: 'CloudWatch throttling',
    how: 'the first 2 DescribeAlarms calls fail with ThrottlingException',
    hosts: 'all on the new version',
    services: () => ({ cloudWatchThrottles: 2 }),
    expected: succeeded,
  },
  {
    name: 'DynamoDB throttling',
    how: 'the first 2 DynamoDB requests fail with ProvisionedThroughputExceededException; the SDK retries them with backoff',
    hosts: 'all on the new version',
    services: () => ({ dynamoThrottles: 2 }),
    expected: succeeded,
  },
  {
    name: 'Lambda crash after SendCommand',
    how: 'the send function dies (Lambda.Unknown) right after the first SendCommand of wave 2; the retry finds that command instead of sending it again',
    hosts: 'all on the new version, each host commanded once',
    services: (s) => ({ crashAfterSendInWave: faultWave(s) + 1 }),
    expected: succeeded,
  },
  {
    name: 'alarm during bake',
    how: 'a host of wave 2 (green for blue-green) reports unhealthy, so the alarm is in ALARM at the gate after the bake',
    hosts: 'waves 1-2 back on the previous version; blue-green: traffic back on blue',
    fleet: (s) => ({ alarmInWave: faultWave(s) + 1 }),
    expected: (s) => ({
      status: 'ROLLED_BACK',
      versions: rolledBack('none', 'none'),
      events: ['AlarmGate', ...ROLLBACK_EVENTS(s), 'DeploymentFinished'],
      reason: /AlarmFiring: .*in ALARM/,
    }),
  },
  {
    name: 'StopExecution',
    how: 'the execution is stopped while wave 2 runs; the execution-status rule closes the record',
    hosts: 'waves 1-2 on the new version (a stop rolls nothing back), later waves untouched',
    fleet: (s) => ({ heldHosts: [faultHost(s)] }),
    drive: async (flow, spec, strategy) => {
      const name = 'stopped';
      const running = flow.run(spec, name);
      const held = flow.hosts[faultHost(strategy)] as string;
      await vi.waitFor(
        async () => {
          const log = await readFile(path.join(flow.fleetDir, held, 'commands.log'), 'utf8').catch(() => '');
          if (!log) throw new Error('the wave has not reached the held host yet');
        },
        { timeout: 20_000, interval: 25 },
      );
      flow.orchestrator.stop(name);
      await running;
      await flow.release(faultHost(strategy));
      // The held host finishes the command it had received before the stop.
      await vi.waitFor(
        async () => {
          if ((await flow.versions())[held] !== NEW) throw new Error('the held host is still deploying');
        },
        { timeout: 20_000, interval: 25 },
      );
    },
    expected: (s) => ({
      status: 'ABORTED',
      // Nothing is rolled back after a StopExecution: the waves sent (the held host's too, once released) run the new version.
      versions: () => {
        const versions: (string | undefined)[] = untouched();
        for (const wave of WAVES[s].slice(0, faultWave(s) + 1)) for (const n of wave) versions[n] = NEW;
        return versions;
      },
      events: ['WaveStarted', 'ExecutionEnded'],
      reason: /StopExecution/,
    }),
  },
  {
    name: 'stale lock (expired)',
    how: 'a lock left by a deployment that died two hours ago, expired: taken over',
    hosts: 'all on the new version',
    before: async (flow, spec) => {
      const app = String(spec.app);
      await flow.orchestrator.records.locks.acquireLock(app, 'test', 'ghost-deployment', new Date(Date.now() - 2 * 3600_000), 60);
    },
    expected: succeeded,
  },
  {
    name: 'lock held by a live deployment',
    how: 'another deployment of the app+env is running and holds a lock that has not expired: refused before any host is touched',
    hosts: 'untouched; the lock stays with its holder',
    before: async (flow, spec) => {
      const app = String(spec.app);
      const now = new Date();
      await flow.orchestrator.records.deployments.createDeployment(
        'live-deployment',
        parseSpec({ ...spec, deploymentId: 'live-deployment' }),
        'live',
        now,
      );
      await flow.orchestrator.records.deployments.updateDeployment('live-deployment', { status: 'RUNNING' }, now);
      await flow.orchestrator.records.locks.acquireLock(app, 'test', 'live-deployment', now, 3600);
    },
    expected: () => ({ status: 'FAILED', versions: untouched, events: ['LockRefused'], reason: /locked by deployment live-deployment/ }),
    lockAfter: 'live-deployment',
  },
];

function specFor(strategy: Strategy, app: string): DeploymentSpecInput {
  const base = { gates: { alarms: { names: [`${app}-health`] } } };
  return strategy === 'blueGreen' ? blueGreenSpec(app, {}, base) : rollingSpec(app, { strategy: STRATEGY_SPEC[strategy], ...base });
}

/** Runs one fault against one strategy and asserts everything the matrix promises. */
export async function runFault(fault: Fault, strategy: Strategy, index: number): Promise<void> {
  const app = `fm-${strategy.toLowerCase()}-${index}`;
  const spec = specFor(strategy, app);
  const flow = await startFlow(spec, HOSTS, fault.fleet?.(strategy) ?? {}, {
    ...(fault.flow ?? {}),
    ...(fault.services ? { faults: fault.services(strategy) } : {}),
  });
  await fault.before?.(flow, spec);
  let id = 'stopped';
  if (fault.drive) await fault.drive(flow, spec, strategy);
  else id = (await flow.run(spec)).executionName;

  const expected = fault.expected(strategy);
  const record = await flow.orchestrator.record(id);
  expect(record.status, 'final status').toBe(expected.status);
  if (expected.reason) expect(record.reason, 'reason').toMatch(expected.reason);

  const versions = await flow.versions();
  expect(
    flow.hosts.map((h) => versions[h]),
    'which host runs which version',
  ).toEqual(expected.versions(strategy));

  // No host got the same command twice: at most one deploy and one rollback each.
  for (const host of flow.hosts) {
    const log = await readFile(path.join(flow.fleetDir, host, 'commands.log'), 'utf8').catch(() => '');
    const actions = log
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { parameters: { action?: string[] } }).parameters.action?.[0] ?? 'run');
    expect(actions.filter((a) => a === 'deploy').length, `deploy commands on ${host}`).toBeLessThanOrEqual(1);
    expect(actions.filter((a) => a === 'rollback').length, `rollback commands on ${host}`).toBeLessThanOrEqual(1);
  }

  expect(await flow.lockHolder(spec), 'lock holder').toBe(fault.lockAfter);

  const events = await flow.orchestrator.records.audit.getEvents(id);
  const types = events.map((e) => String(e.type));
  for (const type of expected.events) expect(types, `audit trail has ${type}`).toContain(type);
  // Each wave started and finished once, and the deployment was closed once, whatever was retried.
  for (const once of ['WaveStarted', 'WaveFinished', 'RollbackStarted', 'RollbackFinished']) {
    const waves = events.filter((e) => e.type === once).map((e) => e.wave);
    expect(new Set(waves).size, `${once} once per wave`).toBe(waves.length);
  }
  expect(types.filter((t) => t === 'DeploymentFinished' || t === 'ExecutionEnded').length, 'closed once').toBe(
    expected.status === 'FAILED' && expected.events.includes('LockRefused') ? 0 : 1,
  );
}

/** The README's fault table: each fault, how it is played, and the outcome per strategy. */
export function faultTable(): string {
  const header = `| fault | how it is played locally | ${STRATEGIES.join(' | ')} | hosts afterwards |`;
  const rule = `| --- | --- | ${STRATEGIES.map(() => '---').join(' | ')} | --- |`;
  const rows = FAULTS.map((fault) => {
    const cells = STRATEGIES.map((s) => fault.expected(s).status);
    return `| ${fault.name} | ${fault.how} | ${cells.join(' | ')} | ${fault.hosts} |`;
  });
  return [header, rule, ...rows].join('\n');
}
