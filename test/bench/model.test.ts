import { describe, expect, it } from 'vitest';
import { estimateCost, LAMBDA_TIME_MODEL_MS, lambdaGbSeconds, PRICES } from '#bench/cost.ts';
import { historyEvents, type InterpreterEvent, largestPayloadBytes, stateTransitions } from '#bench/history.ts';
import { type DurationPair, evaluateTargets, hardLimitBreaches, type RunFigures } from '#bench/targets.ts';

const state = (name: string, type: string, extra: Partial<NonNullable<InterpreterEvent['state']>> = {}) => ({
  name,
  type,
  input: {},
  ...extra,
});
const entered = (name: string, type: string, input: unknown = {}): InterpreterEvent => ({
  type: 'StateEntered',
  state: state(name, type, { input }),
});
const exited = (name: string, type: string, output: unknown = {}): InterpreterEvent => ({
  type: 'StateExited',
  state: state(name, type, { output }),
});

describe('the interpreter event log mapped to the service history', () => {
  it('writes five events for a Lambda task, six for a task that waits for its token, and two for a Choice or a Wait', () => {
    const events: InterpreterEvent[] = [
      { type: 'ExecutionStarted', input: {} },
      entered('Check Controls', 'Task'),
      exited('Check Controls', 'Task'),
      entered('More Waves?', 'Choice'),
      exited('More Waves?', 'Choice'),
      entered('Deploy Wave', 'Task'),
      exited('Deploy Wave', 'Task'),
      entered('Wait For Bake Time', 'Wait'),
      exited('Wait For Bake Time', 'Wait'),
      entered('Deployment Succeeded', 'Succeed'),
      exited('Deployment Succeeded', 'Succeed'),
      { type: 'ExecutionSucceeded', output: {} },
    ];
    expect(historyEvents(events, { callbackTasks: new Set(['Deploy Wave']) })).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'WaitStateEntered',
      'WaitStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('records a retry as a new attempt and a caught failure as a failed task that still exits, and a Fail state without an exit', () => {
    const events: InterpreterEvent[] = [
      entered('Evaluate Wave', 'Task'),
      { type: 'StateFailed', state: state('Evaluate Wave', 'Task'), Error: 'ThrottlingException' },
      { type: 'StateRetried', state: state('Evaluate Wave', 'Task') },
      { type: 'StateFailed', state: state('Evaluate Wave', 'Task'), Error: 'States.Timeout' },
      { type: 'StateCaught', state: state('Evaluate Wave', 'Task') },
      exited('Evaluate Wave', 'Task'),
      entered('Deployment Failed', 'Fail'),
      { type: 'StateFailed', state: state('Deployment Failed', 'Fail'), Error: 'DeploymentFailed' },
      { type: 'ExecutionFailed', Error: 'DeploymentFailed' },
    ];
    expect(historyEvents(events, { callbackTasks: new Set() })).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskTimedOut',
      'TaskStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
  });

  it('bills one transition per state entered and per retry, and leaves local-only states out', () => {
    const events: InterpreterEvent[] = [
      entered('Run Pre-Checks', 'Task'),
      { type: 'StateFailed', state: state('Run Pre-Checks', 'Task'), Error: 'ThrottlingException' },
      { type: 'StateRetried', state: state('Run Pre-Checks', 'Task') },
      exited('Run Pre-Checks', 'Task'),
      entered('Wait For Maintenance Window (Simulated Clock)', 'Task'),
      exited('Wait For Maintenance Window (Simulated Clock)', 'Task'),
      entered('Window Closed?', 'Choice'),
      exited('Window Closed?', 'Choice'),
    ];
    const localOnly = (name: string) => name.endsWith('(Simulated Clock)');
    expect(stateTransitions(events, { localOnly })).toBe(3);
    expect(historyEvents(events, { callbackTasks: new Set(), localOnly })).not.toContain('TaskSubmitted');
    expect(historyEvents(events, { callbackTasks: new Set(), localOnly }).filter((e) => e === 'TaskStateEntered')).toHaveLength(1);
  });

  it('measures the largest payload in UTF-8 bytes across execution input, state inputs and state outputs', () => {
    const big = { reason: 'é'.repeat(100) };
    const events: InterpreterEvent[] = [
      { type: 'ExecutionStarted', input: { a: 1 } },
      entered('A', 'Task', { b: 2 }),
      exited('A', 'Task', big),
    ];
    expect(largestPayloadBytes(events)).toBe(Buffer.byteLength(JSON.stringify(big), 'utf8'));
    expect(largestPayloadBytes(events)).toBeGreaterThan(JSON.stringify(big).length);
  });
});

describe('the cost estimate', () => {
  it('prices each line from its count at the list prices', () => {
    const cost = estimateCost({
      transitions: 1_000,
      lambdaInvocations: 1_000_000,
      lambdaGbSeconds: 10,
      readRequestUnits: 2_000_000,
      writeRequestUnits: 1_000_000,
    });
    expect(cost.stepFunctions).toBeCloseTo(0.025, 10);
    expect(cost.lambdaRequests).toBeCloseTo(0.2, 10);
    expect(cost.lambdaDuration).toBeCloseTo(10 * 0.000_013_333_4, 12);
    expect(cost.dynamoDbReads).toBeCloseTo(0.25, 10);
    expect(cost.dynamoDbWrites).toBeCloseTo(0.625, 10);
    expect(cost.total).toBeCloseTo(
      cost.stepFunctions + cost.lambdaRequests + cost.lambdaDuration + cost.dynamoDbReads + cost.dynamoDbWrites,
      12,
    );
  });

  it('is zero for a deployment that did nothing and grows by one transition price per transition', () => {
    const none = { transitions: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, readRequestUnits: 0, writeRequestUnits: 0 };
    expect(estimateCost(none).total).toBe(0);
    expect(estimateCost({ ...none, transitions: 7 }).total).toBeCloseTo(7 * PRICES.stepFunctionsPerTransition, 12);
  });

  it('models Lambda time as a fixed cost per invocation plus the latency of each AWS call, at the configured memory', () => {
    const work = { invocations: 2, dynamoDbCalls: 10, ssmCalls: 1, cloudWatchCalls: 1, eventBridgePuts: 1 };
    const m = LAMBDA_TIME_MODEL_MS;
    const seconds = (2 * m.perInvocation + 10 * m.perDynamoDbCall + m.perSsmCall + m.perCloudWatchCall + m.perEventBridgePut) / 1000;
    expect(lambdaGbSeconds(work, 1024)).toBeCloseTo(seconds, 12);
    expect(lambdaGbSeconds(work, 512)).toBeCloseTo(seconds / 2, 12);
  });
});

/** A run that meets every target: 100 waves of 100 hosts, or of 1 host. */
function figures(overrides: Partial<RunFigures> = {}): RunFigures {
  const hosts = overrides.hosts ?? 10_000;
  const waves = 100;
  const perWave = hosts / waves;
  return {
    key: 'rolling-1',
    label: 'rolling 1%',
    hosts,
    status: 'SUCCEEDED',
    waves,
    transitions: 911,
    historyEvents: 3_150,
    largestPayloadBytes: 600,
    overheadMsPerWave: 40,
    costUsd: 0.03,
    commandsPerWave: { hosts: Array(waves).fill(perWave), sendCommands: Array(waves).fill(Math.ceil(perWave / 50)) },
    hostResultWrites: { batchCalls: waves * Math.ceil(perWave / 25), largestBatch: Math.min(25, perWave), singleItemWrites: 0 },
    ...overrides,
  };
}

const pair = (long: Partial<RunFigures> = {}): DurationPair => ({
  short: { ...figures({ hosts: 100, costUsd: 0.003 }), bakeSeconds: 60, commandMs: 50 },
  long: { ...figures({ hosts: 100, costUsd: 0.003, ...long }), bakeSeconds: 3600, commandMs: 1000 },
});

describe('the target checks', () => {
  const passing = [figures(), figures({ hosts: 100, costUsd: 0.003 }), figures({ hosts: 1_000, costUsd: 0.01 })];

  it('finds every target met when the figures are within them', () => {
    const checks = evaluateTargets(passing, pair());
    expect(checks.length).toBeGreaterThanOrEqual(10);
    expect(checks.filter((c) => !c.met)).toEqual([]);
  });

  it('misses the headline targets at 1,501 transitions, 5,001 history events and an 8 KB payload', () => {
    const runs = [figures({ transitions: 1_501, historyEvents: 5_001, largestPayloadBytes: 8_192 }), ...passing.slice(1)];
    const missed = evaluateTargets(runs, pair())
      .filter((c) => !c.met)
      .map((c) => c.target);
    expect(missed).toEqual([
      '10,000 hosts, rolling 1%: at most 1,500 state transitions',
      '10,000 hosts, rolling 1%: at most 5,000 history events',
      '10,000 hosts, rolling 1%: largest payload under 8 KB',
      expect.stringContaining('transitions per wave at 10,000 hosts'),
    ]);
  });

  it('misses the duration target when a long bake changes the transitions', () => {
    const check = evaluateTargets(passing, pair({ transitions: 912 })).find((c) => c.target.includes('bake and command duration'));
    expect(check?.met).toBe(false);
    expect(check?.figure).toContain('912');
  });

  it('misses the batching targets when a wave sends one command too many or a host result is written alone', () => {
    const hosts = Array(100).fill(100);
    const runs = [
      figures({ commandsPerWave: { hosts, sendCommands: [3, ...Array(99).fill(2)] } }),
      figures({ hosts: 100, costUsd: 0.003, hostResultWrites: { batchCalls: 100, largestBatch: 1, singleItemWrites: 1 } }),
    ];
    const missed = evaluateTargets(runs, pair())
      .filter((c) => !c.met)
      .map((c) => c.target);
    expect(missed).toContain('SendCommand calls per wave = ceil(hosts in wave / 50)');
    expect(missed).toContain('host results written 25 per BatchWriteItem');
  });

  it('checks the cost per 1,000 hosts separately for large and small fleets, and the overhead per wave', () => {
    const runs = [figures({ costUsd: 0.6 }), figures({ hosts: 10, costUsd: 0.0025, overheadMsPerWave: 150 }), ...passing.slice(1)];
    const checks = evaluateTargets(runs, pair());
    const met = (part: string) => checks.find((c) => c.target.includes(part))?.met;
    expect(met('fleets of 1,000 hosts or more')).toBe(false);
    expect(met('fleets of 10 and 100 hosts')).toBe(false);
    expect(met('orchestration overhead')).toBe(false);
  });
});

describe('the hard limits', () => {
  it('fails a run past 25,000 history events or 262,144 payload bytes, or one that did not succeed, and accepts the limits themselves', () => {
    expect(hardLimitBreaches([figures({ historyEvents: 25_000, largestPayloadBytes: 262_144 })])).toEqual([]);
    expect(hardLimitBreaches([figures({ historyEvents: 25_001 })])).toEqual([
      'rolling 1%, 10,000 hosts: 25,001 history events, over 25,000',
    ]);
    expect(hardLimitBreaches([figures({ largestPayloadBytes: 262_145 })])).toEqual([
      'rolling 1%, 10,000 hosts: a payload of 262,145 bytes, over 262,144',
    ]);
    expect(hardLimitBreaches([figures({ status: 'FAILED' })])).toEqual(['rolling 1%, 10,000 hosts: ended FAILED']);
  });
});
