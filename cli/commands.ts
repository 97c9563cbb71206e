import { userInfo } from 'node:os';
import type { DeploymentService, DeploymentView } from '#app/deployments.ts';
import { BadCursor, ControlRefused, IdTaken, Locked, PlanRefused, RecordNotFound, RollbackRefused, SpecRejected } from '#core/errors.ts';
import { bakeSecondsFor, planWaves, trafficPlan } from '#core/plan.ts';
import { type DeploymentRecord, type DeploymentStatus, TERMINAL_STATUSES } from '#core/records.ts';
import { type RegionView, regionViews } from '#core/regions.ts';
import { DeploymentSpec, toFieldErrors } from '#core/spec.ts';
import { checkWindow } from '#core/window.ts';
import type { Backend } from './backend.ts';
import { DEFAULT_LOCAL_HOSTS, localInstanceId, readHosts } from './local/fleet-setup.ts';
import { BadInput } from './spec-input.ts';

/** Exit codes: 0 success, 1 deployment failed or rolled back, 2 bad input, 3 anything else went wrong. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, error: 3 } as const;

/** The person running the command (for the audit trail when no name is given). */
export function osUser(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Where a command writes: the answer on stdout, progress on stderr when --json. */
export interface Output {
  readonly json: boolean;
  /** A line for a person (stdout, or stderr under --json). */
  line(text: string): void;
  /** The command's result: JSON on stdout under --json, else nothing (the lines said it). */
  result(value: unknown): void;
}

export function output(json: boolean): Output {
  return {
    json,
    line: (text) => (json ? process.stderr : process.stdout).write(`${text}\n`),
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** The exit code a deployment's status stands for. */
export function exitFor(status: DeploymentStatus): number {
  return status === 'FAILED' || status === 'ROLLED_BACK' || status === 'ABORTED' ? EXIT.failed : EXIT.ok;
}

/** Maps the service's refusals to bad input: the message names what to fix. */
export async function refusalsAsBadInput<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SpecRejected) {
      throw new BadInput(
        `the deployment spec is invalid; nothing was started:\n${error.fieldErrors.map((f) => `  ${f.field}: ${f.message}`).join('\n')}`,
      );
    }
    if (
      error instanceof RecordNotFound ||
      error instanceof ControlRefused ||
      error instanceof RollbackRefused ||
      error instanceof Locked ||
      error instanceof IdTaken ||
      error instanceof BadCursor
    ) {
      throw new BadInput(error.message, { cause: error });
    }
    throw error;
  }
}

function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

/** Rows as aligned columns. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** A deployment as a person reads it: one header and one line per wave. */
export function describe(view: DeploymentView, note?: string): string[] {
  const { record, waves, counts } = view;
  const { spec } = record;
  const lines = [
    `${record.deploymentId}: ${record.status}${record.reason ? ` (${record.reason})` : ''}`,
    `  ${spec.app} ${spec.version} to ${spec.environment}, ${spec.strategy.type}${spec.previousVersion ? `, previous ${spec.previousVersion}` : ''}; requested by ${spec.requestedBy}`,
    `  hosts: ${counts.hosts} (${counts.succeeded} done, ${counts.failed} failed, ${counts.pending} pending${counts.rolledBack ? `, ${counts.rolledBack} rolled back` : ''})`,
    `  started ${when(record.createdAt)}${record.endedAt ? `, ended ${when(record.endedAt)}` : ''}`,
  ];
  if (record.gate)
    lines.push(`  waiting for ${record.gate.kind === 'approval' ? 'an approval' : 'a resume'} before wave ${record.gate.wave + 1}`);
  if (record.control) lines.push(`  ${record.control.action.toLowerCase()} requested by ${record.control.by}`);
  if (note) lines.push(`  ! ${note}`);
  for (const wave of waves) {
    lines.push(
      `  wave ${wave.wave + 1}/${record.waveCount ?? waves.length}: ${wave.hosts} hosts, ${wave.status.toLowerCase()}${wave.status === 'DONE' ? ` (${wave.succeeded ?? 0} ok, ${wave.failed ?? 0} failed)` : ''}`,
    );
  }
  for (const check of record.checks?.filter((c) => !c.passed) ?? []) lines.push(`  ✗ ${check.name}: ${check.reason}`);
  for (const region of view.regions ?? []) lines.push(regionLine(region, record.regionWaves?.length ?? 0));
  return lines;
}

/** A region of a multi-region deployment: `region wave 2/2 eu-west-1: SUCCEEDED, 12 hosts (12 ok, 0 failed), 41s (dep-eu-west-1)`. */
function regionLine(region: RegionView, waveCount: number): string {
  const counts = region.hosts !== undefined ? `, ${region.hosts} hosts (${region.succeeded ?? 0} ok, ${region.failed ?? 0} failed)` : '';
  const took = region.durationSeconds !== undefined ? `, ${region.durationSeconds}s` : '';
  const rollback = region.rollback ? `; rollback ${region.rollback.deploymentId}: ${region.rollback.status}` : '';
  return `  region wave ${region.wave + 1}/${waveCount} ${region.region}: ${region.status}${counts}${took} (${region.deploymentId})${region.reason ? ` — ${region.reason}` : ''}${rollback}`;
}

/** Local mode: an active deployment whose process is gone will never move again. */
async function strandedNote(backend: Backend, record: DeploymentRecord): Promise<string | undefined> {
  if (!backend.workspace || TERMINAL_STATUSES.includes(record.status)) return undefined;
  if (await backend.workspace.isRunning(record.deploymentId)) return undefined;
  return `no local process runs this deployment any more; \`deployctl abort --local ${record.deploymentId}\` ends it`;
}

export async function status(backend: Backend, out: Output, deploymentId: string): Promise<number> {
  const view = await refusalsAsBadInput(() => backend.service.get(deploymentId));
  const note = await strandedNote(backend, view.record);
  for (const line of describe(view, note)) out.line(line);
  out.result({ ...view, ...(note ? { note } : {}) });
  return exitFor(view.record.status);
}

/**
 * Follows a deployment until it ends: a line whenever its status, a wave, the
 * host counts or what it waits for change.
 */
export async function watch(
  backend: Backend,
  out: Output,
  deploymentId: string,
  options: { intervalMs: number; timeoutMs?: number },
): Promise<number> {
  let last = '';
  const seenWaves = new Map<number, string>();
  const seenRegions = new Map<string, string>();
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Number.POSITIVE_INFINITY;
  for (;;) {
    const view = await refusalsAsBadInput(() => backend.service.get(deploymentId));
    const { record, counts } = view;
    for (const wave of view.waves) {
      const key = `${wave.status}:${wave.succeeded ?? 0}:${wave.failed ?? 0}`;
      if (seenWaves.get(wave.wave) === key || wave.status === 'PLANNED') continue;
      seenWaves.set(wave.wave, key);
      const total = record.waveCount ?? view.waves.length;
      out.line(
        wave.status === 'DONE'
          ? `  ${wave.failed ? '✗' : '✓'} wave ${wave.wave + 1}/${total}: ${wave.succeeded ?? 0} ok, ${wave.failed ?? 0} failed`
          : `  … wave ${wave.wave + 1}/${total}: ${wave.hosts} hosts running`,
      );
    }
    for (const region of view.regions ?? []) {
      const key = `${region.status}:${region.rollback?.status ?? ''}`;
      if (seenRegions.get(region.region) === key || region.status === 'PENDING') continue;
      seenRegions.set(region.region, key);
      out.line(regionLine(region, record.regionWaves?.length ?? 0));
    }
    const alarms = await alarmSummary(backend, record);
    const headline = `${record.status}${alarms} · hosts ${counts.succeeded}/${counts.hosts} done, ${counts.failed} failed${record.gate ? ` · waiting for ${record.gate.kind === 'approval' ? `approval of wave ${record.gate.wave + 1}` : 'resume'}` : ''}${record.control ? ` · ${record.control.action.toLowerCase()} requested` : ''}`;
    if (headline !== last) {
      out.line(`${record.deploymentId}: ${headline}`);
      last = headline;
    }
    if (TERMINAL_STATUSES.includes(record.status)) {
      out.line(`${record.status === 'SUCCEEDED' ? '✓' : '✗'} ${record.status}${record.reason ? `: ${record.reason}` : ''}`);
      out.result(view);
      return exitFor(record.status);
    }
    const note = await strandedNote(backend, record);
    if (note) {
      out.line(`! ${note}`);
      out.result({ ...view, note });
      return EXIT.failed;
    }
    if (Date.now() > deadline) throw new BadInput(`deployment ${deploymentId} is still ${record.status} after --timeout`);
    await new Promise((r) => setTimeout(r, options.intervalMs));
  }
}

/** The gate alarms' states in a few words (` · alarms OK`, ` · ALARM: web-5xx`), or nothing without alarms. */
async function alarmSummary(backend: Backend, record: DeploymentRecord): Promise<string> {
  const selector = record.spec.gates?.alarms;
  if (!selector?.names?.length && !selector?.prefix) return '';
  // Best effort: a watcher without cloudwatch:DescribeAlarms still follows the deployment.
  const states = await backend.alarms
    .describe({
      ...(selector.names?.length ? { names: [...selector.names] } : {}),
      ...(selector.prefix ? { prefix: selector.prefix } : {}),
    })
    .catch(() => undefined);
  if (!states) return ' · alarms unknown';
  const firing = states.filter((a) => a.state === 'ALARM').map((a) => a.name);
  if (firing.length) return ` · ALARM: ${firing.join(', ')}`;
  return states.length ? ` · alarms ${[...new Set(states.map((a) => a.state))].join('/')}` : ' · no alarm found';
}

export async function list(backend: Backend, out: Output, options: { limit?: number; nextToken?: string }): Promise<number> {
  const page = await refusalsAsBadInput(() => backend.service.list(options));
  const rows = page.items.map((r) => [
    r.deploymentId,
    r.status,
    r.spec.app,
    r.spec.environment,
    r.spec.version,
    r.spec.strategy.type,
    when(r.createdAt),
  ]);
  if (rows.length === 0) out.line('no deployments yet');
  else for (const line of table([['DEPLOYMENT', 'STATUS', 'APP', 'ENV', 'VERSION', 'STRATEGY', 'STARTED'], ...rows])) out.line(line);
  if (page.nextToken) out.line(`more: --next-token ${page.nextToken}`);
  out.result({ items: page.items.map(summary), ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
  return EXIT.ok;
}

export async function history(
  backend: Backend,
  out: Output,
  options: { app: string; env: string; limit?: number; nextToken?: string },
): Promise<number> {
  const page = await refusalsAsBadInput(() => backend.service.history(options.app, options.env, options));
  const rows = page.items.map((r) => [
    when(r.endedAt),
    r.version,
    r.previousVersion ?? '-',
    r.status,
    `${r.durationSeconds}s`,
    r.deploymentId,
  ]);
  if (rows.length === 0) out.line(`no finished deployments of ${options.app} to ${options.env}`);
  else for (const line of table([['ENDED', 'VERSION', 'PREVIOUS', 'STATUS', 'DURATION', 'DEPLOYMENT'], ...rows])) out.line(line);
  if (page.nextToken) out.line(`more: --next-token ${page.nextToken}`);
  out.result(page);
  return EXIT.ok;
}

/** approve / reject / abort / pause / resume. */
/** approve, reject, abort, pause or resume, as the service takes it. */
type ControlRequest = Parameters<DeploymentService['control']>[0];

export async function control(backend: Backend, out: Output, request: ControlRequest): Promise<number> {
  if (request.action === 'abort' && backend.workspace) {
    const ended = await abortStranded(backend, request);
    if (ended) {
      out.line(`${request.deploymentId}: ABORTED (no local process ran it any more; hosts already changed stay as they are)`);
      out.result({ deploymentId: request.deploymentId, action: 'abort', message: 'stranded deployment closed as ABORTED' });
      return EXIT.ok;
    }
  }
  if (request.action !== 'abort' && backend.workspace) {
    const record = await refusalsAsBadInput(() => backend.records.deployments.getDeployment(request.deploymentId));
    const stranded = await strandedNote(backend, record);
    if (stranded) throw new BadInput(`cannot ${request.action} deployment ${request.deploymentId}: ${stranded}`);
  }
  const result = await refusalsAsBadInput(() => backend.service.control(request));
  out.line(`${result.deploymentId}: ${result.message}`);
  out.result(result);
  return EXIT.ok;
}

/**
 * Local mode's StopExecution: a deployment whose process is gone is closed as
 * ABORTED (status, release history, lock), as the execution-status rule does
 * for a stopped execution in AWS.
 */
async function abortStranded(backend: Backend, request: ControlRequest): Promise<boolean> {
  const record = await refusalsAsBadInput(() => backend.records.deployments.getDeployment(request.deploymentId));
  if (!backend.closeStranded || TERMINAL_STATUSES.includes(record.status) || !(await strandedNote(backend, record))) return false;
  await backend.closeStranded(record.deploymentId, request.by, request.comment);
  return true;
}

export async function logs(backend: Backend, out: Output, deploymentId: string, options: { host?: string }): Promise<number> {
  const found = await refusalsAsBadInput(() => backend.service.logs(deploymentId));
  const hosts = found.hosts.filter((h) => !options.host || h.instanceId.startsWith(options.host));
  if (options.host && hosts.length === 0) throw new BadInput(`--host ${options.host}: no result for that host in ${deploymentId}`);
  for (const host of hosts) {
    out.line(
      `── ${host.instanceId} · wave ${host.wave >= 9998 ? host.phase : host.wave + 1} · ${host.phase} ${host.version ?? ''} · ${host.status}`,
    );
    if (host.statusDetails && host.statusDetails !== host.status) out.line(`   ${host.statusDetails}`);
    for (const text of (host.output ?? '').trimEnd().split('\n').filter(Boolean)) out.line(`   │ ${text}`);
  }
  if (!options.host) {
    out.line('── audit trail');
    for (const event of [...found.events].sort((a, b) => String(a.at).localeCompare(String(b.at)))) {
      const { type, actor, at, ...detail } = event;
      out.line(
        `   ${when(String(at))}  ${String(type)} by ${String(actor)}${Object.keys(detail).length ? ` ${JSON.stringify(detail)}` : ''}`,
      );
    }
  }
  out.result({ ...found, hosts });
  return EXIT.ok;
}

/**
 * Dry run: validates the spec, resolves the targets and prints the waves.
 * Nothing is recorded and no host is touched.
 */
export async function plan(backend: Backend, out: Output, rawSpec: Record<string, unknown>): Promise<number> {
  const parsed = DeploymentSpec.safeParse(rawSpec);
  if (!parsed.success) {
    throw new BadInput(
      `the deployment spec is invalid:\n${toFieldErrors(parsed.error)
        .map((f) => `  ${f.field}: ${f.message}`)
        .join('\n')}`,
    );
  }
  const spec = parsed.data;
  const selector = spec.strategy.type === 'blueGreen' ? spec.strategy.green : spec.targets;
  let hosts = await backend.inventory.resolve(selector);
  let note: string | undefined;
  if (hosts.length === 0 && backend.workspace && (await localFleetIsNew(backend.workspace.fleetDir, spec.app, spec.environment))) {
    // The local fleet gets its hosts on the first deploy: plan over the ones it will create.
    const all = await readHosts(backend.workspace.fleetDir);
    const count = DEFAULT_LOCAL_HOSTS;
    const ids = Array.from({ length: count }, (_, n) => localInstanceId(all.length + n));
    hosts = spec.strategy.type === 'blueGreen' ? ids.slice(Math.floor(count / 2)) : ids;
    note = `the local fleet has no hosts for ${spec.app}/${spec.environment} yet; the first deploy creates ${count}`;
  }
  let waves: string[][];
  try {
    waves = planWaves(spec, hosts);
  } catch (error) {
    if (error instanceof PlanRefused) throw new BadInput(`the plan is refused: ${error.message}`);
    throw error;
  }
  const bake = bakeSecondsFor(spec);
  const window = spec.window ? checkWindow(spec.window, new Date()) : undefined;
  const approvals = spec.gates.approval;
  out.line(`plan: ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} (dry run: nothing changes)`);
  if (note) out.line(`  ${note}`);
  out.line(
    `  ${hosts.length} hosts in ${waves.length} wave(s); bake ${bake}s and alarm gate after each; max errors ${String(spec.strategy.maxErrors)}`,
  );
  for (const [i, wave] of waves.entries()) {
    const approval = approvals === 'everyWave' || (approvals === 'firstWave' && i === 0) ? ' (approval first)' : '';
    out.line(
      `  wave ${i + 1}: ${wave.length} hosts${approval}: ${wave.slice(0, 6).join(' ')}${wave.length > 6 ? ` … (+${wave.length - 6})` : ''}`,
    );
  }
  const traffic = spec.strategy.type === 'blueGreen' ? trafficPlan(spec.strategy) : undefined;
  if (traffic) out.line(`  then traffic to green: ${traffic.join('% → ')}%`);
  if (window)
    out.line(
      `  maintenance window: ${window.open ? 'open' : `closed (${spec.window?.outside === 'wait' ? 'would wait' : 'would be refused'})`}: ${window.reason}`,
    );
  out.result({
    spec,
    hosts: hosts.length,
    waves,
    bakeSeconds: bake,
    ...(traffic ? { trafficSteps: traffic } : {}),
    ...(window ? { window: { open: window.open, reason: window.reason, nextOpening: window.nextOpening?.toISOString() } } : {}),
    ...(note ? { note } : {}),
  });
  return EXIT.ok;
}

async function localFleetIsNew(fleetDir: string, app: string, environment: string): Promise<boolean> {
  return !(await readHosts(fleetDir)).some((h) => h.tags.app === app && h.tags.environment === environment);
}

/** The record as a person reads it at the end of a run. */
export function summary(record: DeploymentRecord) {
  return {
    deploymentId: record.deploymentId,
    status: record.status,
    reason: record.reason ?? undefined,
    app: record.spec.app,
    environment: record.spec.environment,
    version: record.spec.version,
    previousVersion: record.spec.previousVersion,
    strategy: record.spec.strategy.type,
    waves: record.waveCount,
    hosts: record.hostCount,
    succeeded: record.succeeded,
    failed: record.failed,
    rolledBack: record.rolledBack,
    createdAt: record.createdAt,
    endedAt: record.endedAt,
    ...(record.regions ? { regions: regionViews(record) } : {}),
  };
}
