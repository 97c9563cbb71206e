import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { startChecks } from '#app/deployments.ts';
import { Locked } from '#core/errors.ts';
import type { DeploymentRecord } from '../lambdas/core/records.ts';
import { isMultiRegion, REGIONAL_COMPLETED, REGIONAL_REQUESTED, regionWavesOf } from '../lambdas/core/regions.ts';
import { DeploymentSpec, toFieldErrors } from '../lambdas/core/spec.ts';
import type { RecordStores } from '../lambdas/ports.ts';
import { osUser } from './commands.ts';
import { type FleetFaults, FleetMismatch, prepareLocalFleet } from './local/fleet-setup.ts';
import { LocalRegions, type LocalRegionsOptions } from './local/regions.ts';
import type { EventLog, LocalRun } from './local/runner.ts';
import { type LocalSession, startLocalSession } from './local/session.ts';
import { openWorkspace } from './local/workspace.ts';
import { BadInput } from './spec-input.ts';

export interface LocalDeployOptions {
  /** Folder that keeps the local fleet and DynamoDB Local's data between commands. */
  readonly stateDir: string;
  /** A running DynamoDB Local to use; by default one is started and stopped. */
  readonly dynamoEndpoint?: string;
  readonly tableName?: string;
  /** Hosts in the local fleet for the app+env (created on first use). @default 12 */
  readonly hosts?: number;
  /** Start from a new local fleet. */
  readonly resetFleet?: boolean;
  readonly faults: FleetFaults;
  readonly json: boolean;
  /** Where progress lines go (stderr when --json, so stdout stays parseable). */
  readonly print: (line: string) => void;
  /** Approve every wave in this name; otherwise ask at the terminal (and reject when there is none). */
  readonly autoApprove?: string;
  /** Multi-region: the one region whose fleet gets the faults. @default every region's */
  readonly faultRegion?: string;
}

export interface LocalDeployResult {
  readonly run: LocalRun;
  readonly record: DeploymentRecord | undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * `deployctl deploy --local`: validates the spec (nothing starts if it is
 * invalid), builds a local fleet for it, runs the rolling state machine
 * and prints progress wave by wave.
 */
export async function deployLocal(
  input: Record<string, unknown> | ((records: RecordStores) => Promise<Record<string, unknown>>),
  options: LocalDeployOptions,
): Promise<LocalDeployResult> {
  if (typeof input === 'object' && isMultiRegion(validate(input))) return deployRegionsLocal(input, options);
  const print = options.print;
  const workspace = await openWorkspace({
    stateDir: options.stateDir,
    ...(options.dynamoEndpoint ? { dynamoEndpoint: options.dynamoEndpoint } : {}),
    ...(options.tableName ? { tableName: options.tableName } : {}),
  });
  let session: LocalSession | undefined;
  let onInterrupt: (() => void) | undefined;
  try {
    const started = Date.now();
    session = await startLocalSession({
      fleetDir: workspace.fleetDir,
      endpoint: workspace.endpoint,
      tableName: workspace.tableName,
      callbackInbox: workspace.inbox,
    });
    const rawSpec = typeof input === 'object' ? input : await input(session.orchestrator.records);
    const spec = validate(rawSpec);
    const id = spec.deploymentId ?? randomUUID();
    if (options.resetFleet && (await workspace.anyRunning())) {
      throw new BadInput('--reset-fleet: another local process runs a deployment on this fleet; wait for it or abort it first');
    }
    const existing = await startChecks(session.orchestrator.records, spec, id, new Date()).catch((error: unknown) => {
      if (!(error instanceof Locked)) throw error;
      throw new BadInput(
        `${error.message}; nothing was started. Follow it with \`deployctl watch --local ${error.holder}\` or abort it with \`deployctl abort --local ${error.holder}\``,
      );
    });
    if (existing) {
      throw new BadInput(
        `deployment ${id} exists already (${existing.status}); nothing was started. Follow it with \`deployctl watch --local ${id}\`, or give a new --deployment-id`,
      );
    }
    let hosts: string[];
    try {
      hosts = await prepareLocalFleet(workspace.fleetDir, spec, {
        ...(options.hosts !== undefined ? { hosts: options.hosts } : {}),
        faults: options.faults,
        reset: Boolean(options.resetFleet),
      });
    } catch (error) {
      if (error instanceof FleetMismatch) throw new BadInput(error.message);
      throw error;
    }
    print(
      `deployctl: ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} on ${hosts.length} local hosts`,
    );
    print(`  state: ${workspace.stateDir} (fleet, DynamoDB Local data; kept between commands)`);
    print(`  state machine synthesized from the CDK stack; DynamoDB Local at ${workspace.endpoint} (${seconds(Date.now() - started)})`);
    await workspace.running(id);
    const result = await runWithProgress(session, spec, { ...rawSpec, deploymentId: id }, id, options, (handler) => {
      onInterrupt = handler;
    });
    await workspace.finished(id);
    return result;
  } finally {
    if (onInterrupt) process.off('SIGINT', onInterrupt);
    await session?.close();
    await workspace.close();
  }
}

function validate(rawSpec: Record<string, unknown>): DeploymentSpec {
  const parsed = DeploymentSpec.safeParse(rawSpec);
  if (!parsed.success) {
    const fields = toFieldErrors(parsed.error);
    throw new BadInput(
      `the deployment spec is invalid; nothing was started:\n${fields.map((f) => `  ${f.field}: ${f.message}`).join('\n')}`,
    );
  }
  return parsed.data;
}

/** Runs the execution in this process with progress lines; Ctrl-C asks for an abort. */
async function runWithProgress(
  session: LocalSession,
  spec: DeploymentSpec,
  rawSpec: Record<string, unknown>,
  deploymentId: string,
  options: LocalDeployOptions,
  onSigint: (handler: () => void) => void,
): Promise<LocalDeployResult> {
  const print = options.print;
  const orchestrator = session.orchestrator;
  const strategy = spec.strategy.type;
  const greenShares = spec.strategy.type === 'blueGreen' ? spec.strategy.trafficSteps : [];
  // Approvals: given by --auto-approve, asked at the terminal, or awaited from `deployctl approve` / the API.
  // An open terminal prompt is withdrawn when the gate is answered elsewhere or the run ends.
  const openPrompts = new Set<AbortController>();
  const withdrawPrompts = () => {
    for (const prompt of openPrompts) prompt.abort();
    openPrompts.clear();
  };
  orchestrator.events.onEvent((event) => {
    if (event.detail.status !== 'AWAITING_APPROVAL') return;
    const id = String(event.detail.deploymentId);
    const wave = Number(event.detail.wave) + 1;
    const asking = new AbortController();
    openPrompts.add(asking);
    decide(id, wave, options.autoApprove, print, asking.signal, () => onInterrupt())
      .then(async (decision) => {
        openPrompts.delete(asking);
        if (!decision) return;
        await orchestrator.control({
          deploymentId: id,
          by: decision.by,
          action: decision.approve ? 'approve' : 'reject',
          comment: decision.comment,
        });
      })
      // Someone else may have answered first.
      .catch((error: unknown) => print(`    (${(error as Error).message})`));
  });
  // Ctrl-C asks for an abort (the hosts already changed roll back); a second Ctrl-C quits at once.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    print('  ! abort requested (Ctrl-C again to quit now): stopping after the current wave and rolling back');
    void orchestrator.control({ deploymentId, action: 'abort', by: osUser(), comment: 'Ctrl-C' });
  };
  process.on('SIGINT', onInterrupt);
  onSigint(onInterrupt);
  {
    const begin = Date.now();
    let waveStarted = begin;
    let waveCount = 0;
    const caught = new Set<string>();
    const onEvent = (event: EventLog) => {
      if (!('state' in event)) return;
      const handler = orchestrator.handlerOf(strategy, event.state.name);
      if (event.type === 'StateEntered' && handler === 'sendCommand') waveStarted = Date.now();
      // A caught error still exits the state; its progress line is the failure's, printed at the end.
      if (event.type === 'StateCaught') caught.add(event.state.name);
      if (event.type !== 'StateExited' || caught.delete(event.state.name)) return;
      const out = event.state.output as Record<string, unknown> | undefined;
      switch (handler) {
        case 'validateSpec':
          print(`  ✓ spec valid, lock on ${spec.app}/${spec.environment} taken (deployment ${deploymentId})`);
          break;
        case 'planWaves':
          waveCount = Number(out?.waveCount);
          print(
            strategy === 'blueGreen'
              ? `  ✓ planned: ${String(out?.hostCount)} green hosts, then traffic in ${greenShares.length} step(s): ${greenShares.join('% → ')}%`
              : `  ✓ planned ${waveCount} waves over ${String(out?.hostCount)} hosts`,
          );
          break;
        case 'runPreChecks':
          if (out?.windowOpensAt) print(`  ⏸ window closed: waiting until ${String(out.windowOpensAt)} (local mode skips ahead)`);
          else print('  ✓ pre-checks passed: hosts online, window open, alarms quiet');
          break;
        case 'evaluateWave': {
          if (out?.outcome) {
            print(`  ↩ ${String(out.reason)}`);
          } else if (event.state.name.includes('Validation')) {
            if (spec.strategy.type === 'blueGreen' && !spec.strategy.validationCommand) break;
            print(`  ${out?.verdict === 'failed' ? '✗' : '✓'} validation on green${out?.reason ? ` — ${String(out.reason)}` : ''}`);
          } else {
            const wave = Number(out?.wave);
            const mark = out?.verdict === 'failed' ? '✗' : '✓';
            print(
              `  ${mark} wave ${wave}/${waveCount}: ${String(out?.succeeded)} hosts done, ${String(out?.failed)} failed so far (${seconds(Date.now() - waveStarted)})${out?.reason ? ` — ${String(out.reason)}` : ''}`,
            );
          }
          break;
        }
        case 'checkAlarms':
          print('    alarms quiet after bake');
          break;
        case 'shiftTraffic': {
          const green = greenShares[Number(out?.trafficStep) - 1] ?? 100;
          print(`  ⇄ traffic: green ${green}% / blue ${100 - green}%`);
          break;
        }
        case 'switchBack':
          print('  ↩ all traffic switched back to blue');
          break;
        case 'awaitGate':
          withdrawPrompts();
          if (event.state.name.includes('Paused')) print('    resumed');
          break;
      }
    };
    const run = await orchestrator.execute(strategy, { ...rawSpec }, { onEvent, executionName: deploymentId }).finally(withdrawPrompts);
    const record = await orchestrator.record(deploymentId).catch(() => undefined);
    const status = record?.status ?? run.status;
    print(
      `${status === 'SUCCEEDED' ? '✓' : '✗'} ${status} in ${seconds(Date.now() - begin)}${record?.reason ? `: ${record.reason}` : run.cause && !record ? `: ${run.cause}` : ''}`,
    );
    if (record?.checks?.some((c) => !c.passed)) {
      for (const check of record.checks) print(`    ${check.passed ? '✓' : '✗'} ${check.name}: ${check.reason}`);
    }
    return { run, record };
  }
}

interface Decision {
  readonly approve: boolean;
  readonly by: string;
  readonly comment?: string;
}

/**
 * Who approves a wave locally: --auto-approve, the person at the terminal, or
 * (undefined) someone else, with `deployctl approve` or the API.
 */
async function decide(
  deploymentId: string,
  wave: number,
  autoApprove: string | undefined,
  print: (line: string) => void,
  withdrawn: AbortSignal,
  onInterrupt: () => void,
): Promise<Decision | undefined> {
  if (autoApprove) {
    print(`  ✓ wave ${wave} approved by ${autoApprove} (--auto-approve)`);
    return { approve: true, by: autoApprove };
  }
  const by = osUser();
  print(`  ? wave ${wave} waits for an approval: deployctl approve --local ${deploymentId} (or reject)`);
  if (!process.stdin.isTTY) return undefined;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  // While the prompt reads the terminal, Ctrl-C reaches readline, not the process: it still means abort.
  prompt.on('SIGINT', onInterrupt);
  try {
    const answer = await prompt.question(`  ? approve wave ${wave}? [y/N] `, { signal: withdrawn });
    return /^y(es)?$/i.test(answer.trim()) ? { approve: true, by } : { approve: false, by, comment: 'declined at the terminal' };
  } catch (error) {
    if ((error as Error).name === 'AbortError') return undefined;
    throw error;
  } finally {
    prompt.close();
  }
}

/**
 * `deployctl deploy --local` with `regions` or `regionWaves`: one local region
 * per region (its own fleet and table; the local region, us-east-1, keeps the
 * folder's fleet and table, and is also the control region, whose table holds
 * the multi-region record), the fan-out machine in this process, the local
 * bus between them, and a progress line per region wave and per region.
 */
async function deployRegionsLocal(rawSpec: Record<string, unknown>, options: LocalDeployOptions): Promise<LocalDeployResult> {
  const print = options.print;
  const spec = validate(rawSpec);
  const waves = regionWavesOf(spec);
  const names = waves.flat();
  if (options.faultRegion && !names.includes(options.faultRegion)) {
    throw new BadInput(`--fault-region ${options.faultRegion} is not one of the deployment's regions (${names.join(', ')})`);
  }
  const workspace = await openWorkspace({
    stateDir: options.stateDir,
    ...(options.dynamoEndpoint ? { dynamoEndpoint: options.dynamoEndpoint } : {}),
    ...(options.tableName ? { tableName: options.tableName } : {}),
  });
  let local: LocalRegions | undefined;
  try {
    const started = Date.now();
    // Loaded here, for multi-region runs only: it loads aws-cdk-lib, which single-region runs do without (synth-cache.ts).
    const { LOCAL_REGION, synthesizeMultiRegion } = await import('./local/synth.ts');
    const id = spec.deploymentId ?? randomUUID();
    const tableOf = (region: string) => (region === LOCAL_REGION ? workspace.tableName : `${workspace.tableName}-${region}`);
    const fleetOf = (region: string) =>
      region === LOCAL_REGION ? workspace.fleetDir : path.join(workspace.stateDir, 'regions', region, 'fleet');
    const regions: Record<string, LocalRegionsOptions['regions'][string]> = {};
    const hosts: Record<string, number> = {};
    for (const region of names) {
      try {
        const faults = !options.faultRegion || options.faultRegion === region ? options.faults : {};
        hosts[region] = (
          await prepareLocalFleet(fleetOf(region), spec, {
            ...(options.hosts !== undefined ? { hosts: options.hosts } : {}),
            faults,
            reset: Boolean(options.resetFleet),
          })
        ).length;
      } catch (error) {
        if (error instanceof FleetMismatch) throw new BadInput(`${region}: ${error.message}`);
        throw error;
      }
      regions[region] = { fleetDir: fleetOf(region), tableName: tableOf(region), callbackInbox: workspace.inbox };
    }
    local = await LocalRegions.start({
      synthesized: synthesizeMultiRegion(),
      endpoint: workspace.endpoint,
      controlTable: workspace.tableName,
      regions,
    });
    const existing = await startChecks(local.records, spec, id, new Date()).catch((error: unknown) => {
      if (!(error instanceof Locked)) throw error;
      throw new BadInput(`${error.message}; nothing was started`);
    });
    if (existing) {
      throw new BadInput(`deployment ${id} exists already (${existing.status}); nothing was started. Give a new --deployment-id`);
    }
    print(
      `deployctl: multi-region ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} in ${waves.length} region wave(s): ${waves.map((w) => w.join(' + ')).join(' → ')}`,
    );
    print(`  state: ${workspace.stateDir}; each region has its own local fleet and table (${names.map(tableOf).join(', ')})`);
    print(`  state machines synthesized from the CDK stacks; DynamoDB Local at ${workspace.endpoint} (${seconds(Date.now() - started)})`);
    await workspace.running(id);
    const run = await runRegionsWithProgress(local, spec, { ...rawSpec, deploymentId: id }, id, options, waves, hosts, tableOf);
    await workspace.finished(id);
    const record = await local.records.deployments.getDeployment(id).catch(() => undefined);
    const status = record?.status ?? run.status;
    print(
      `${status === 'SUCCEEDED' ? '✓' : '✗'} ${status} in ${seconds(Date.now() - started)}${record?.reason ? `: ${record.reason}` : run.cause && !record ? `: ${run.cause}` : ''}`,
    );
    return { run, record };
  } finally {
    local?.close();
    await workspace.close();
  }
}

/** Runs the fan-out with a line per region wave, per region's request, waves and end. */
async function runRegionsWithProgress(
  local: LocalRegions,
  spec: DeploymentSpec,
  rawSpec: Record<string, unknown>,
  deploymentId: string,
  options: LocalDeployOptions,
  waves: string[][],
  hosts: Readonly<Record<string, number>>,
  tableOf: (region: string) => string,
): Promise<LocalRun> {
  const print = options.print;
  const requestedAt = new Map<string, number>();
  const announced = new Set<number>();
  local.onBusEvent((event) => {
    const { region, phase } = event.detail;
    const key = `${region}/${phase}`;
    if (event.detailType === REGIONAL_REQUESTED) {
      const wave = waves.findIndex((w) => w.includes(region));
      if (phase === 'deploy' && !announced.has(wave)) {
        announced.add(wave);
        print(`  region wave ${wave + 1}/${waves.length}: ${waves[wave]?.join(', ')}`);
      }
      requestedAt.set(key, Date.now());
      print(
        `    → ${region}: ${phase === 'rollback' ? 'rollback' : 'deployment'} ${event.detail.deploymentId} requested (${hosts[region] ?? 0} local hosts, table ${tableOf(region)})`,
      );
      return;
    }
    if (event.detailType === REGIONAL_COMPLETED) {
      const took = seconds(Date.now() - (requestedAt.get(key) ?? Date.now()));
      const d = event.detail;
      print(
        `  ${d.status === 'SUCCEEDED' ? '✓' : '✗'} ${region}${phase === 'rollback' ? ' rollback' : ''} ${d.status}: ${d.succeeded}/${d.hosts} hosts done, ${d.failed} failed (${took})${d.reason ? ` — ${d.reason}` : ''}`,
      );
    }
  });
  for (const [region, orchestrator] of local.orchestrators) {
    orchestrator.events.onEvent((event) => {
      const { status } = event.detail;
      const id = String(event.detail.deploymentId);
      if (status === 'WAVE_COMPLETED') {
        const count = event.detail.hosts ?? 0;
        print(
          `      ${region}: wave ${Number(event.detail.wave) + 1} done, ${count} host${count === 1 ? '' : 's'}, ${event.detail.failed ?? 0} failed`,
        );
      } else if (status === 'ROLLING_BACK') {
        print(`      ${region}: rolling back the changed hosts`);
      } else if (status === 'AWAITING_APPROVAL') {
        const wave = Number(event.detail.wave) + 1;
        if (options.autoApprove) {
          print(`      ${region}: wave ${wave} approved by ${options.autoApprove} (--auto-approve)`);
          void orchestrator.control({ deploymentId: id, by: options.autoApprove, action: 'approve' }).catch((error: unknown) => {
            print(`      (${(error as Error).message})`);
          });
        } else {
          print(`      ${region}: wave ${wave} waits for an approval: deployctl approve --local ${id} --table ${tableOf(region)}`);
        }
      }
    });
  }
  const onEvent = (event: EventLog) => {
    if (event.type === 'StateEntered' && 'state' in event && event.state.name === 'Bake Between Region Waves') {
      print(`    bake between region waves: ${String(spec.regionPolicy?.bakeSeconds ?? 0)}s (locally 0 s)`);
    }
  };
  return local.execute(rawSpec, { executionName: deploymentId, onEvent });
}
