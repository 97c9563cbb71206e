/**
 * The issue's targets and the service's hard limits, checked against the
 * benchmark's figures. Pure: no I/O.
 */
import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from './history.ts';

/** What the checks read of one run. */
export interface RunFigures {
  /** The strategy's key (rolling-1, canary, ...) and how the tables name it. */
  readonly key: string;
  readonly label: string;
  /** Hosts deployed. */
  readonly hosts: number;
  readonly status: string;
  /** Trips round the wave loop: waves, and for blue-green its traffic steps. */
  readonly waves: number;
  readonly transitions: number;
  readonly historyEvents: number;
  readonly largestPayloadBytes: number;
  /** Orchestration time per wave: wall time less the simulated command and bake time, divided by the waves. */
  readonly overheadMsPerWave: number;
  /** Time per wave with a DynamoDB Local request in flight, if measured (it overlaps the simulated commands too). */
  readonly dynamoDbMsPerWave?: number;
  /** CPU time of the benchmark's process per wave (interpreter, handlers, SDK, simulated fleet), if measured. */
  readonly cpuMsPerWave?: number;
  readonly costUsd: number;
  /** Hosts of each planned wave, and the SendCommand calls that reached each. */
  readonly commandsPerWave: { readonly hosts: readonly number[]; readonly sendCommands: readonly number[] };
  /** Per-host results: BatchWriteItem calls that carried them, the most in one call, single-item writes. */
  readonly hostResultWrites: { readonly batchCalls: number; readonly largestBatch: number; readonly singleItemWrites: number };
}

export interface TargetCheck {
  readonly target: string;
  readonly figure: string;
  readonly met: boolean;
}

/** The same deployment with a short and with a long simulated bake and command. */
export interface DurationPair {
  readonly short: RunFigures & { readonly bakeSeconds: number; readonly commandMs: number };
  readonly long: RunFigures & { readonly bakeSeconds: number; readonly commandMs: number };
}

export const TARGETS = {
  headline: { key: 'rolling-1', hosts: 10_000, maxTransitions: 1_500, maxHistoryEvents: 5_000, maxPayloadBytes: 8 * 1024 },
  perWaveGrowth: { small: 100, large: 10_000, maxRatio: 1.1 },
  sendCommandBatch: 50,
  hostResultBatch: 25,
  maxUsdPerThousandHosts: 0.05,
  maxOverheadMsPerWave: 100,
} as const;

const n = (value: number) => value.toLocaleString('en-US');
const usd = (value: number) => `$${value.toFixed(4)}`;

export function perWave(run: Pick<RunFigures, 'transitions' | 'waves'>): number {
  return run.waves === 0 ? run.transitions : run.transitions / run.waves;
}

export function usdPerThousandHosts(run: Pick<RunFigures, 'costUsd' | 'hosts'>): number {
  return run.hosts === 0 ? 0 : (run.costUsd / run.hosts) * 1000;
}

/** Expected SendCommand calls of a wave of `hosts` hosts. */
export function expectedSendCommands(hosts: number): number {
  return Math.ceil(hosts / TARGETS.sendCommandBatch);
}

/** Expected BatchWriteItem calls for the results of waves of these sizes. */
export function expectedResultBatches(waveHosts: readonly number[]): number {
  return waveHosts.reduce((sum, hosts) => sum + Math.ceil(hosts / TARGETS.hostResultBatch), 0);
}

function worst<T>(items: readonly T[], score: (item: T) => number): T | undefined {
  return items.reduce<T | undefined>((w, item) => (w === undefined || score(item) > score(w) ? item : w), undefined);
}

/** Every check of the issue's targets, in the issue's order. */
export function evaluateTargets(runs: readonly RunFigures[], pair: DurationPair): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const h = TARGETS.headline;
  const headline = runs.find((r) => r.key === h.key && r.hosts === h.hosts);
  const name = `${n(h.hosts)} hosts, rolling 1%`;
  if (!headline) {
    checks.push({ target: `${name}: the run`, figure: 'not run', met: false });
  } else {
    checks.push({
      target: `${name}: at most ${n(h.maxTransitions)} state transitions`,
      figure: `${n(headline.transitions)} in ${n(headline.waves)} waves`,
      met: headline.transitions <= h.maxTransitions,
    });
    checks.push({
      target: `${name}: at most ${n(h.maxHistoryEvents)} history events`,
      figure: n(headline.historyEvents),
      met: headline.historyEvents <= h.maxHistoryEvents,
    });
    checks.push({
      target: `${name}: largest payload under 8 KB`,
      figure: `${n(headline.largestPayloadBytes)} bytes`,
      met: headline.largestPayloadBytes < h.maxPayloadBytes,
    });
  }

  const g = TARGETS.perWaveGrowth;
  const ratios = runs
    .filter((r) => r.hosts === g.large)
    .flatMap((large) => {
      const small = runs.find((r) => r.key === large.key && r.hosts === g.small);
      return small ? [{ label: large.label, small: perWave(small), large: perWave(large), ratio: perWave(large) / perWave(small) }] : [];
    });
  const worstRatio = worst(ratios, (r) => r.ratio);
  checks.push({
    target: `transitions per wave at ${n(g.large)} hosts at most ${g.maxRatio}x those at ${n(g.small)} (every strategy)`,
    figure: worstRatio
      ? `highest: ${worstRatio.label}, ${worstRatio.small.toFixed(2)} -> ${worstRatio.large.toFixed(2)} (${worstRatio.ratio.toFixed(2)}x); ${ratios.length} strategies compared`
      : 'no pair of runs',
    met: ratios.length > 0 && ratios.every((r) => r.ratio <= g.maxRatio),
  });

  const { short, long } = pair;
  checks.push({
    target: 'transitions independent of bake and command duration',
    figure: `${short.label}, ${n(short.hosts)} hosts: ${n(short.transitions)} transitions with a ${short.bakeSeconds} s bake and ${short.commandMs} ms commands, ${n(long.transitions)} with a ${long.bakeSeconds} s bake and ${long.commandMs} ms commands`,
    met: short.transitions === long.transitions && short.historyEvents === long.historyEvents,
  });

  const waves = runs.flatMap((r) =>
    r.commandsPerWave.hosts.map((hosts, w) => ({ run: r, hosts, sent: r.commandsPerWave.sendCommands[w] ?? 0 })),
  );
  const wrong = waves.filter((w) => w.sent !== expectedSendCommands(w.hosts));
  const largestWave = worst(waves, (w) => w.hosts);
  checks.push({
    target: `SendCommand calls per wave = ceil(hosts in wave / ${TARGETS.sendCommandBatch})`,
    figure:
      wrong.length === 0
        ? `all ${n(waves.length)} waves of ${runs.length} runs${largestWave ? `; largest wave ${n(largestWave.hosts)} hosts, ${n(largestWave.sent)} calls` : ''}`
        : `${wrong.length} waves off, e.g. ${wrong[0]?.run.label} ${n(wrong[0]?.run.hosts ?? 0)} hosts: ${wrong[0]?.hosts} hosts, ${wrong[0]?.sent} calls`,
    met: waves.length > 0 && wrong.length === 0,
  });

  const badWrites = runs.filter(
    (r) =>
      r.hostResultWrites.singleItemWrites > 0 ||
      r.hostResultWrites.largestBatch > TARGETS.hostResultBatch ||
      r.hostResultWrites.batchCalls !== expectedResultBatches(r.commandsPerWave.hosts),
  );
  const mostWrites = worst(runs, (r) => r.hostResultWrites.batchCalls);
  checks.push({
    target: `host results written ${TARGETS.hostResultBatch} per BatchWriteItem`,
    figure:
      badWrites.length === 0
        ? `all ${runs.length} runs${mostWrites ? `; ${n(mostWrites.hosts)} hosts (${mostWrites.label}): ${n(mostWrites.hostResultWrites.batchCalls)} calls, at most ${mostWrites.hostResultWrites.largestBatch} items each` : ''}`
        : `${badWrites.length} runs off, e.g. ${badWrites[0]?.label} ${n(badWrites[0]?.hosts ?? 0)} hosts: ${badWrites[0]?.hostResultWrites.batchCalls} calls, ${badWrites[0]?.hostResultWrites.singleItemWrites} single writes`,
    met: runs.length > 0 && badWrites.length === 0,
  });

  const limit = TARGETS.maxUsdPerThousandHosts;
  for (const [scope, inScope] of [
    ['fleets of 1,000 hosts or more', (r: RunFigures) => r.hosts >= 1_000],
    ['fleets of 10 and 100 hosts', (r: RunFigures) => r.hosts < 1_000],
  ] as const) {
    const scoped = runs.filter(inScope);
    const dearest = worst(scoped, usdPerThousandHosts);
    const over = scoped.filter((r) => usdPerThousandHosts(r) >= limit);
    checks.push({
      target: `estimated cost under ${usd(limit)} per 1,000 hosts (${scope})`,
      figure: dearest
        ? `highest: ${dearest.label}, ${n(dearest.hosts)} hosts: ${usd(usdPerThousandHosts(dearest))} per 1,000 (${usd(dearest.costUsd)} in all)${over.length > 0 ? `; ${over.length} of ${scoped.length} runs over` : ''}`
        : 'no runs',
      met: scoped.length > 0 && over.length === 0,
    });
  }

  const slowest = worst(runs, (r) => r.overheadMsPerWave);
  const slow = runs.filter((r) => r.overheadMsPerWave >= TARGETS.maxOverheadMsPerWave);
  checks.push({
    target: `orchestration overhead under ${TARGETS.maxOverheadMsPerWave} ms per wave locally`,
    figure: slowest
      ? `highest: ${slowest.label}, ${n(slowest.hosts)} hosts: ${slowest.overheadMsPerWave.toFixed(0)} ms per wave${slow.length > 0 ? `; ${slow.length} of ${runs.length} runs over` : ''}${headline ? `; ${name}: ${headline.overheadMsPerWave.toFixed(0)} ms${measuredParts(headline)}` : ''}`
      : 'no runs',
    met: runs.length > 0 && slow.length === 0,
  });
  return checks;
}

/** What the overhead is made of, where measured: DynamoDB Local's share and this process's CPU. */
function measuredParts(run: RunFigures): string {
  const parts = [
    run.dynamoDbMsPerWave === undefined ? undefined : `DynamoDB Local answering for ${run.dynamoDbMsPerWave.toFixed(0)} ms of each wave`,
    run.cpuMsPerWave === undefined ? undefined : `${run.cpuMsPerWave.toFixed(0)} ms of CPU in the benchmark's process`,
  ].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** Runs that broke a limit of the service (or did not succeed): any makes the benchmark fail. */
export function hardLimitBreaches(runs: readonly RunFigures[]): string[] {
  return runs.flatMap((r) => {
    const what = `${r.label}, ${n(r.hosts)} hosts`;
    const out: string[] = [];
    if (r.status !== 'SUCCEEDED') out.push(`${what}: ended ${r.status}`);
    if (r.historyEvents > HISTORY_EVENT_LIMIT) out.push(`${what}: ${n(r.historyEvents)} history events, over ${n(HISTORY_EVENT_LIMIT)}`);
    if (r.largestPayloadBytes > PAYLOAD_LIMIT_BYTES)
      out.push(`${what}: a payload of ${n(r.largestPayloadBytes)} bytes, over ${n(PAYLOAD_LIMIT_BYTES)}`);
    return out;
  });
}
