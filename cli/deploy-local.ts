import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { StartResult } from '#app/deployments.ts';
import { IdTaken, Locked, RecordNotFound, RollbackRefused, SpecRejected } from '#core/errors.ts';
import type { DeploymentRecord } from '#core/records.ts';
import { isMultiRegion, REGIONAL_COMPLETED, REGIONAL_REQUESTED, regionWavesOf } from '#core/regions.ts';
import { manualRollbackSpec } from '#core/rollback.ts';
import { DeploymentSpec, type FieldError, toFieldErrors } from '#core/spec.ts';
import { osUser } from './commands.ts';
import { type FleetFaults, FleetMismatch, prepareLocalFleet } from './local/fleet-setup.ts';
import type { LocalRun } from './local/interpreter.ts';
import { deploymentProgress, seconds } from './local/progress.ts';
import type { LocalRegion } from './local/region.ts';
import { LocalRegions, type LocalRegionsOptions } from './local/regions.ts';
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

/** `rollback --local`: which finished deployment to undo, who asks, and whether it is an emergency. */
export interface LocalRollbackRequest {
  readonly rollbackOf: string;
  readonly by: string;
  readonly emergency: boolean;
}

/**
 * `deployctl deploy --local`: validates the spec (nothing starts if it is
 * invalid), builds a local fleet for it, starts it through the deployments
 * service (the API's start: the same checks, the same refusals) on the local
 * interpreter and prints progress from its status events.
 */
export async function deployLocal(input: Record<string, unknown>, options: LocalDeployOptions): Promise<LocalDeployResult> {
  const spec = validate(input);
  if (isMultiRegion(spec)) return deployRegionsLocal(input, options);
  // The id is chosen here, as the service would, so that the lines can name it before the first event.
  const rawSpec = { ...input, deploymentId: spec.deploymentId ?? randomUUID() };
  return runLocal(
    options,
    async () => spec,
    (region) => region.service.start(rawSpec),
  );
}

/**
 * `deployctl rollback --local`: a new deployment of a finished one's previous
 * version, started through the deployments service's rollback, followed as
 * `deploy --local` follows a deployment.
 */
export async function rollbackLocal(request: LocalRollbackRequest, options: LocalDeployOptions): Promise<LocalDeployResult> {
  return runLocal(
    options,
    async (region) =>
      refused(async () =>
        DeploymentSpec.parse(
          manualRollbackSpec(await region.records.deployments.getDeployment(request.rollbackOf), request.by, {
            emergency: request.emergency,
          }),
        ),
      ),
    (region) => region.service.rollback(request.rollbackOf, request.by, { emergency: request.emergency }),
  );
}

/** Opens the folder and the local region, makes the fleet ready for `fleetSpec`, starts, and follows the run to its end. */
async function runLocal(
  options: LocalDeployOptions,
  fleetSpec: (region: LocalRegion) => Promise<DeploymentSpec>,
  start: (region: LocalRegion) => Promise<StartResult>,
): Promise<LocalDeployResult> {
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
    const region = session.region;
    const spec = await fleetSpec(region);
    if (options.resetFleet && (await workspace.anyRunning())) {
      throw new BadInput('--reset-fleet: another local process runs a deployment on this fleet; wait for it or abort it first');
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
    options.print(
      `deployctl: ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} on ${hosts.length} local hosts`,
    );
    options.print(`  state: ${workspace.stateDir} (fleet, DynamoDB Local data; kept between commands)`);
    options.print(
      `  state machine synthesized from the CDK stack; DynamoDB Local at ${workspace.endpoint} (${seconds(Date.now() - started)})`,
    );
    const watching = followLocal(region, options, (handler) => {
      onInterrupt = handler;
    });
    const begin = Date.now();
    const result = await refused(() => start(region));
    if (!result.started) {
      throw new BadInput(
        `deployment ${result.deploymentId} exists already (${String(result.status)}); nothing was started. Follow it with \`deployctl watch --local ${result.deploymentId}\`, or give a new --deployment-id`,
      );
    }
    const id = result.deploymentId;
    await workspace.running(id);
    const run = region.executions.run(id);
    if (!run) throw new Error(`deployment ${id} did not start in this process`);
    const ended = await run.finally(() => watching.stop());
    await watching.printed();
    await workspace.finished(id);
    const record = await region.record(id).catch(() => undefined);
    printEnd(options.print, ended, record, Date.now() - begin);
    return { run: ended, record };
  } finally {
    if (onInterrupt) process.off('SIGINT', onInterrupt);
    await session?.close();
    await workspace.close();
  }
}

/** The last line: the record's status and reason, and the failed pre-checks. */
function printEnd(print: (line: string) => void, run: LocalRun, record: DeploymentRecord | undefined, tookMs: number): void {
  const status = record?.status ?? run.status;
  const reason = record?.reason ? `: ${record.reason}` : run.cause && !record ? `: ${run.cause}` : '';
  print(`${status === 'SUCCEEDED' ? '✓' : '✗'} ${status} in ${seconds(tookMs)}${reason}`);
  if (record?.checks?.some((c) => !c.passed)) {
    for (const check of record.checks) print(`    ${check.passed ? '✓' : '✗'} ${check.name}: ${check.reason}`);
  }
}

function invalidSpec(fields: readonly FieldError[]): BadInput {
  return new BadInput(
    `the deployment spec is invalid; nothing was started:\n${fields.map((f) => `  ${f.field}: ${f.message}`).join('\n')}`,
  );
}

function validate(rawSpec: Record<string, unknown>): DeploymentSpec {
  const parsed = DeploymentSpec.safeParse(rawSpec);
  if (!parsed.success) throw invalidSpec(toFieldErrors(parsed.error));
  return parsed.data;
}

/** The service's refusals as the CLI's clear messages (exit 2): nothing was started. */
async function refused<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SpecRejected) throw invalidSpec(error.fieldErrors);
    if (error instanceof Locked) {
      throw new BadInput(
        `${error.message}; nothing was started. Follow it with \`deployctl watch --local ${error.holder}\` or abort it with \`deployctl abort --local ${error.holder}\``,
      );
    }
    if (error instanceof IdTaken || error instanceof RollbackRefused || error instanceof RecordNotFound) {
      throw new BadInput(`${error.message}; nothing was started`);
    }
    throw error;
  }
}

/**
 * Follows the local region's status events: progress lines, approvals (given
 * by --auto-approve, asked at the terminal, or awaited from `deployctl
 * approve` / the API; an open prompt is withdrawn when the gate is answered
 * elsewhere or the run ends), and Ctrl-C, which asks for an abort.
 */
function followLocal(region: LocalRegion, options: LocalDeployOptions, onSigint: (handler: () => void) => void) {
  const print = options.print;
  const progress = deploymentProgress(region.records, print);
  const openPrompts = new Set<AbortController>();
  const withdrawPrompts = () => {
    for (const prompt of openPrompts) prompt.abort();
    openPrompts.clear();
  };
  let current: string | undefined;
  // Ctrl-C asks for an abort (the hosts already changed roll back); a second Ctrl-C quits at once.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    print('  ! abort requested (Ctrl-C again to quit now): stopping after the current wave and rolling back');
    if (current) void region.control({ deploymentId: current, action: 'abort', by: osUser(), comment: 'Ctrl-C' }).catch(() => undefined);
  };
  let following = true;
  region.events.onEvent((event) => {
    if (!following) return;
    const id = event.detail.deploymentId;
    current = id;
    progress.onEvent(event);
    if (event.detail.status !== 'AWAITING_APPROVAL') {
      withdrawPrompts();
      return;
    }
    const wave = Number(event.detail.wave) + 1;
    const asking = new AbortController();
    openPrompts.add(asking);
    void progress
      .printed()
      .then(() => decide(id, wave, options.autoApprove, print, asking.signal, onInterrupt))
      .then(async (decision) => {
        openPrompts.delete(asking);
        if (!decision) return;
        await region.control({
          deploymentId: id,
          by: decision.by,
          action: decision.approve ? 'approve' : 'reject',
          comment: decision.comment,
        });
      })
      // Someone else may have answered first.
      .catch((error: unknown) => print(`    (${(error as Error).message})`));
  });
  process.on('SIGINT', onInterrupt);
  onSigint(onInterrupt);
  return {
    printed: () => progress.printed(),
    stop() {
      following = false;
      withdrawPrompts();
    },
  };
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
    print(
      `deployctl: multi-region ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} in ${waves.length} region wave(s): ${waves.map((w) => w.join(' + ')).join(' → ')}`,
    );
    print(`  state: ${workspace.stateDir}; each region has its own local fleet and table (${names.map(tableOf).join(', ')})`);
    print(`  state machines synthesized from the CDK stacks; DynamoDB Local at ${workspace.endpoint} (${seconds(Date.now() - started)})`);
    followRegions(local, spec, options, waves, hosts, tableOf);
    const result = await refused(() => (local as LocalRegions).service.start({ ...rawSpec, deploymentId: id }));
    if (!result.started) {
      throw new BadInput(`deployment ${id} exists already (${String(result.status)}); nothing was started. Give a new --deployment-id`);
    }
    await workspace.running(id);
    const run = await local.finished(id);
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

/** A line per region wave (and the bake before it), per region's request, waves and end: from the bus and the regions' status events. */
function followRegions(
  local: LocalRegions,
  spec: DeploymentSpec,
  options: LocalDeployOptions,
  waves: string[][],
  hosts: Readonly<Record<string, number>>,
  tableOf: (region: string) => string,
): void {
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
        if (wave > 0) print(`    bake between region waves: ${String(spec.regionPolicy?.bakeSeconds ?? 0)}s (locally 0 s)`);
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
  for (const [region, regional] of local.regions) {
    regional.events.onEvent((event) => {
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
          void regional.control({ deploymentId: id, by: options.autoApprove, action: 'approve' }).catch((error: unknown) => {
            print(`      (${(error as Error).message})`);
          });
        } else {
          print(`      ${region}: wave ${wave} waits for an approval: deployctl approve --local ${id} --table ${tableOf(region)}`);
        }
      }
    });
  }
}
