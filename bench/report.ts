/** The benchmark's tables, as Markdown. Pure: no I/O. */
import type { CostBreakdown } from './cost.ts';
import { perWave, type RunFigures, type TargetCheck, usdPerThousandHosts } from './targets.ts';

/** Everything measured for one run. */
export interface RunResult extends RunFigures {
  readonly lambdaInvocations: number;
  /** SSM calls by operation, CloudWatch DescribeAlarms calls. */
  readonly ssm: { readonly sendCommand: number; readonly listCommandInvocations: number; readonly describeInstanceInformation: number };
  readonly cloudWatchCalls: number;
  readonly dynamoDb: {
    readonly reads: number;
    readonly writes: number;
    readonly readRequestUnits: number;
    readonly writeRequestUnits: number;
  };
  readonly eventBridgePuts: number;
  /**
   * Runs of the SSM status callback that found no token yet (the event came before the sending
   * function stored the wave's token) and failed, to be retried: local retries, left out of the
   * Lambda and DynamoDB figures (in AWS: at most two per event, a minute or more apart).
   */
  readonly callbackRetries: number;
  /** Status events never delivered (retries exhausted): the wave waited for its timeout, then read every result. */
  readonly lostStatusEvents: number;
  /** The longest time from a wave's first to its last SendCommand. */
  readonly longestSendMs: number;
  /** Wall time with a DynamoDB Local request in flight, per wave. */
  readonly dynamoDbMsPerWave: number;
  readonly dynamoDbRequestsPerWave: number;
  readonly wallMs: number;
  /** Simulated command and bake time in the wall time. */
  readonly simulatedMs: number;
  readonly lambdaGbSeconds: number;
  readonly cost: CostBreakdown;
  readonly bakeSeconds: number;
  readonly commandMs: number;
  readonly bakeMs: number;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const usd = (value: number) => `$${value < 0.001 ? value.toFixed(6) : value.toFixed(4)}`;

function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const rule = header.map((_, i) => (right.has(i) ? '---:' : '---'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}

/** Every figure of every run. */
export function runsTable(runs: readonly RunResult[]): string {
  const header = [
    'strategy',
    'hosts',
    'waves',
    'transitions',
    'per wave',
    'history events',
    'largest payload (B)',
    'Lambda invocations',
    'SendCommand',
    'ListCommandInvocations',
    'DescribeInstanceInformation',
    'CloudWatch',
    'DynamoDB reads (RRU)',
    'DynamoDB writes (WRU)',
    'callback retries / lost',
    'wall (s)',
    'overhead (ms/wave)',
    'DynamoDB busy (ms/wave)',
    'CPU (ms/wave)',
    'cost',
    'per 1,000 hosts',
  ];
  const rows = runs.map((r) => [
    r.label,
    n(r.hosts),
    n(r.waves),
    n(r.transitions),
    perWave(r).toFixed(2),
    n(r.historyEvents),
    n(r.largestPayloadBytes),
    n(r.lambdaInvocations),
    n(r.ssm.sendCommand),
    n(r.ssm.listCommandInvocations),
    n(r.ssm.describeInstanceInformation),
    n(r.cloudWatchCalls),
    `${n(r.dynamoDb.reads)} (${n(r.dynamoDb.readRequestUnits)})`,
    `${n(r.dynamoDb.writes)} (${n(r.dynamoDb.writeRequestUnits)})`,
    `${n(r.callbackRetries)} / ${n(r.lostStatusEvents)}`,
    (r.wallMs / 1000).toFixed(2),
    r.overheadMsPerWave.toFixed(1),
    r.dynamoDbMsPerWave.toFixed(1),
    (r.cpuMsPerWave ?? 0).toFixed(1),
    usd(r.cost.total),
    usd(usdPerThousandHosts(r)),
  ]);
  return table(header, rows, new Set(header.map((_, i) => i).filter((i) => i > 0)));
}

/** The figures the README quotes. */
export function summaryTable(runs: readonly RunResult[]): string {
  const header = [
    'strategy',
    'hosts',
    'waves',
    'transitions',
    'history events',
    'largest payload (B)',
    'cost',
    'per 1,000 hosts',
    'overhead (ms/wave)',
  ];
  const rows = runs.map((r) => [
    r.label,
    n(r.hosts),
    n(r.waves),
    n(r.transitions),
    n(r.historyEvents),
    n(r.largestPayloadBytes),
    usd(r.cost.total),
    usd(usdPerThousandHosts(r)),
    r.overheadMsPerWave.toFixed(1),
  ]);
  return table(header, rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]));
}

/** Where each run's money goes. */
export function costTable(runs: readonly RunResult[]): string {
  const header = [
    'strategy',
    'hosts',
    'Step Functions',
    'Lambda requests',
    'Lambda GB-s',
    'Lambda duration',
    'DynamoDB reads',
    'DynamoDB writes',
    'total',
  ];
  const rows = runs.map((r) => [
    r.label,
    n(r.hosts),
    usd(r.cost.stepFunctions),
    usd(r.cost.lambdaRequests),
    r.lambdaGbSeconds.toFixed(2),
    usd(r.cost.lambdaDuration),
    usd(r.cost.dynamoDbReads),
    usd(r.cost.dynamoDbWrites),
    usd(r.cost.total),
  ]);
  return table(header, rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]));
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  return table(
    ['target', 'figure', 'met'],
    checks.map((c) => [c.target, c.figure, c.met ? 'met' : 'MISSED']),
    new Set(),
  );
}
