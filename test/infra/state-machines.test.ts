import aslValidator from 'asl-validator';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '#lib/orchestrator-functions.ts';
import { STRATEGIES, type StrategyName } from '#lib/regional-stack.ts';
import { type AslDefinition, type AslState, invokedHandler, regionalStack, renderDefinitions } from '#test/infra/synth.ts';

let definitions: Record<StrategyName, AslDefinition>;

beforeAll(() => {
  const { stack } = regionalStack();
  definitions = renderDefinitions(stack, Template.fromStack(stack));
});

type WaveStrategy = Exclude<StrategyName, 'blueGreen'>;
const WAVE_STRATEGIES = STRATEGIES.filter((s): s is WaveStrategy => s !== 'blueGreen');

/** The states each wave strategy names after its waves; every other state is shared by all four. */
const WAVE_NAMES: Record<
  WaveStrategy,
  Record<'controls' | 'needsApproval' | 'approval' | 'deploy' | 'evaluate' | 'more' | 'bake' | 'alarms', string>
> = {
  rolling: {
    controls: 'Check Controls Before Wave',
    needsApproval: 'Wave Needs Approval?',
    approval: 'Wait For Wave Approval',
    deploy: 'Deploy Wave',
    evaluate: 'Evaluate Wave',
    more: 'More Waves?',
    bake: 'Wait For Bake Time',
    alarms: 'Check Alarms After Wave',
  },
  canary: {
    controls: 'Check Controls Before Canary Stage',
    needsApproval: 'Canary Stage Needs Approval?',
    approval: 'Wait For Canary Stage Approval',
    deploy: 'Deploy Canary Stage',
    evaluate: 'Evaluate Canary Stage',
    more: 'More Canary Stages?',
    bake: 'Bake Canary Stage',
    alarms: 'Check Alarms After Canary Stage',
  },
  linear: {
    controls: 'Check Controls Before Linear Step',
    needsApproval: 'Linear Step Needs Approval?',
    approval: 'Wait For Linear Step Approval',
    deploy: 'Deploy Linear Step',
    evaluate: 'Evaluate Linear Step',
    more: 'More Linear Steps?',
    bake: 'Wait Linear Interval',
    alarms: 'Check Alarms After Linear Step',
  },
  allAtOnce: {
    controls: 'Check Controls Before All Hosts',
    needsApproval: 'All Hosts Needs Approval?',
    approval: 'Wait For All Hosts Approval',
    deploy: 'Deploy All Hosts',
    evaluate: 'Evaluate All Hosts',
    more: 'More Waves?',
    bake: 'Wait For Bake Time',
    alarms: 'Check Alarms After All Hosts',
  },
};

/** Where each flow goes once something has failed after the pre-checks, and what it settles there. */
const ROLLBACK_START: Record<StrategyName, string> = {
  allAtOnce: 'Send Rollback Command',
  rolling: 'Send Rollback Command',
  canary: 'Send Rollback Command',
  linear: 'Send Rollback Command',
  blueGreen: 'Switch Traffic Back To Blue',
};

interface CommandWait {
  /** The state that reads the command's results, next or on a timeout. */
  readonly evaluation: string;
  /** The phase the send and its evaluation both carry. */
  readonly phase: 'deploy' | 'rollback' | 'validate';
}
type GateKind = 'approval' | 'resume' | 'failure';

/** A wave strategy's command waits: its wave and the rollback. */
const waveCommandWaits = (strategy: WaveStrategy): Record<string, CommandWait> => ({
  [WAVE_NAMES[strategy].deploy]: { evaluation: WAVE_NAMES[strategy].evaluate, phase: 'deploy' },
  'Send Rollback Command': { evaluation: 'Record Rollback Results', phase: 'rollback' },
});

/** Each command wait (sendCommand), with the evaluation that reads its results. */
const COMMAND_WAITS: Record<StrategyName, Record<string, CommandWait>> = {
  allAtOnce: waveCommandWaits('allAtOnce'),
  rolling: waveCommandWaits('rolling'),
  canary: waveCommandWaits('canary'),
  linear: waveCommandWaits('linear'),
  blueGreen: {
    'Deploy To Green': { evaluation: 'Evaluate Green', phase: 'deploy' },
    'Run Validation Command On Green': { evaluation: 'Evaluate Validation', phase: 'validate' },
  },
};

/** A wave strategy's gate waits: the pause and the approval before a wave. */
const waveGateWaits = (strategy: WaveStrategy): Record<string, GateKind> => ({
  'Wait While Paused': 'resume',
  [WAVE_NAMES[strategy].approval]: 'approval',
  'Wait For Operator After Failure': 'failure',
});

/** Each gate wait (awaitGate), with the kind of control that ends it. */
const GATE_WAITS: Record<StrategyName, Record<string, GateKind>> = {
  allAtOnce: waveGateWaits('allAtOnce'),
  rolling: waveGateWaits('rolling'),
  canary: waveGateWaits('canary'),
  linear: waveGateWaits('linear'),
  blueGreen: {
    'Wait While Paused': 'resume',
    'Wait For Deploy Approval': 'approval',
    'Wait For Traffic Shift Approval': 'approval',
    'Wait For Operator After Failure': 'failure',
  },
};

/** How long a gate waits for its control before the flow gives up and rolls back: fixed, and well inside the day an execution may run. */
const GATE_TIMEOUT_SECONDS = 20 * 3600;

const statesOf = (definition: AslDefinition) => Object.entries(definition.States);
const tasksOf = (definition: AslDefinition) => statesOf(definition).filter(([, state]) => state.Type === 'Task');
const tasksInvoking = (definition: AslDefinition, handler: HandlerName) =>
  tasksOf(definition).filter(([, state]) => invokedHandler(state) === handler);

/** A choice rule as the console shows it: the variable, the comparison and the value it is compared with. */
function describeChoice(choice: Record<string, unknown>): string {
  const comparisons = Object.entries(choice).filter(([key]) => key !== 'Next' && key !== 'Variable');
  return `${String(choice.Variable)} ${comparisons.map(([op, value]) => `${op} ${JSON.stringify(value)}`).join(' ')}`;
}

/** A state's outgoing edges, labelled the way the console draws them (choices in the order they are tried). */
function edges(state: AslState): Record<string, string> {
  const out: Record<string, string> = {};
  if (state.Next) out.next = state.Next;
  for (const [i, choice] of (state.Choices ?? []).entries()) out[`choice ${i + 1}: ${describeChoice(choice)}`] = choice.Next;
  if (state.Default) out.default = state.Default;
  for (const c of state.Catch ?? []) out[`catch ${c.ErrorEquals.join(',')}`] = c.Next;
  return out;
}

/** The whole graph: every state with its type, its edges and, for a Wait, where it reads its seconds or its timestamp. */
function graphOf(definition: AslDefinition): Record<string, Record<string, string>> {
  return Object.fromEntries(
    statesOf(definition).map(([name, state]) => [
      name,
      {
        type: state.Type,
        ...(state.SecondsPath ? { seconds: state.SecondsPath } : {}),
        ...(typeof state.TimestampPath === 'string' ? { until: state.TimestampPath } : {}),
        ...edges(state),
      },
    ]),
  );
}

function reachableFrom(definition: AslDefinition, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const state = definition.States[name];
    if (state) queue.push(...Object.values(edges(state)));
  }
  return seen;
}

/** Renames the rolling strategy's wave states, wherever they appear, to another wave strategy's names. */
function renameRolling<T>(value: T, strategy: WaveStrategy): T {
  const names = new Map(
    Object.entries(WAVE_NAMES.rolling).map(([role, name]) => [name, WAVE_NAMES[strategy][role as keyof typeof WAVE_NAMES.rolling]]),
  );
  const rename = (name: string) => names.get(name) ?? name;
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => {
    if (typeof v === 'string') return rename(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [rename(k), x]));
    return v;
  }) as T;
}

/** The rolling flow, state by state, as the console draws it. */
const ROLLING_GRAPH = {
  'Validate Spec And Acquire Lock': {
    type: 'Task',
    next: 'Plan Waves',
    'catch InvalidSpec': 'Spec Rejected',
    'catch LockHeld': 'Deployment Refused',
    'catch States.ALL': 'Deployment Not Started',
  },
  'Plan Waves': { type: 'Task', next: 'Run Pre-Checks', 'catch States.ALL': 'Mark Deployment Failed' },
  'Run Pre-Checks': { type: 'Task', next: 'Window Closed?', 'catch States.ALL': 'Mark Deployment Failed' },
  'Window Closed?': {
    type: 'Choice',
    'choice 1: $.windowOpensAt IsPresent true': 'Wait For Maintenance Window',
    default: 'Check Controls Before Wave',
  },
  'Wait For Maintenance Window': { type: 'Wait', until: '$.windowOpensAt', next: 'Run Pre-Checks' },
  'Check Controls Before Wave': { type: 'Task', next: 'Paused?', 'catch States.ALL': 'Send Rollback Command' },
  'Paused?': { type: 'Choice', 'choice 1: $.gate StringEquals "paused"': 'Wait While Paused', default: 'More Waves?' },
  'Wait While Paused': { type: 'Task', next: 'Check Controls Before Wave', 'catch States.ALL': 'Send Rollback Command' },
  'More Waves?': {
    type: 'Choice',
    'choice 1: $.wave NumericLessThanPath "$.waveCount"': 'Wave Needs Approval?',
    default: 'Mark Deployment Succeeded',
  },
  'Wave Needs Approval?': { type: 'Choice', 'choice 1: $.gate StringEquals "approval"': 'Wait For Wave Approval', default: 'Deploy Wave' },
  'Wait For Wave Approval': { type: 'Task', next: 'Deploy Wave', 'catch States.ALL': 'Send Rollback Command' },
  'Deploy Wave': {
    type: 'Task',
    next: 'Evaluate Wave',
    'catch States.Timeout': 'Evaluate Wave',
    'catch States.ALL': 'Send Rollback Command',
  },
  'Evaluate Wave': { type: 'Task', next: 'Within Error Budget?', 'catch States.ALL': 'Send Rollback Command' },
  'Within Error Budget?': {
    type: 'Choice',
    'choice 1: $.verdict StringEquals "failed"': 'Failure Policy?',
    default: 'Wait For Bake Time',
  },
  'Wait For Bake Time': { type: 'Wait', seconds: '$.bakeSeconds', next: 'Check Alarms After Wave' },
  'Check Alarms After Wave': {
    type: 'Task',
    next: 'Check Controls Before Wave',
    'catch AlarmFiring': 'Failure Policy?',
    'catch States.ALL': 'Send Rollback Command',
  },
  'Failure Policy?': {
    type: 'Choice',
    'choice 1: $.onFailure StringEquals "pause"': 'Wait For Operator After Failure',
    'choice 2: $.onFailure StringEquals "abort"': 'Stop Without Rollback',
    default: 'Send Rollback Command',
  },
  'Wait For Operator After Failure': { type: 'Task', next: 'Check Controls Before Wave', 'catch States.ALL': 'Send Rollback Command' },
  'Stop Without Rollback': { type: 'Pass', next: 'Finalize Deployment' },
  'Mark Deployment Succeeded': { type: 'Pass', next: 'Finalize Deployment' },
  'Send Rollback Command': {
    type: 'Task',
    next: 'Record Rollback Results',
    'catch States.Timeout': 'Record Rollback Results',
    'catch States.ALL': 'Mark Rollback Failed',
  },
  'Record Rollback Results': { type: 'Task', next: 'Finalize Deployment', 'catch States.ALL': 'Mark Rollback Failed' },
  'Mark Deployment Failed': { type: 'Pass', next: 'Finalize Deployment' },
  'Mark Rollback Failed': { type: 'Pass', next: 'Finalize Deployment' },
  'Finalize Deployment': { type: 'Task', next: 'Deployment Outcome?', 'catch States.ALL': 'Finalize Failed' },
  'Deployment Outcome?': {
    type: 'Choice',
    'choice 1: $.status StringEquals "SUCCEEDED"': 'Deployment Succeeded',
    'choice 2: $.status StringEquals "ROLLED_BACK"': 'Deployment Rolled Back',
    'choice 3: $.status StringEquals "ABORTED"': 'Deployment Aborted',
    default: 'Deployment Failed',
  },
  'Deployment Succeeded': { type: 'Succeed' },
  'Deployment Rolled Back': { type: 'Fail' },
  'Deployment Aborted': { type: 'Fail' },
  'Deployment Failed': { type: 'Fail' },
  'Finalize Failed': { type: 'Fail' },
  'Spec Rejected': { type: 'Fail' },
  'Deployment Refused': { type: 'Fail' },
  'Deployment Not Started': { type: 'Fail' },
};

/** Which function each rolling task invokes. */
const ROLLING_INVOCATIONS: Record<string, HandlerName> = {
  'Validate Spec And Acquire Lock': 'validateSpec',
  'Plan Waves': 'planWaves',
  'Run Pre-Checks': 'runPreChecks',
  'Check Controls Before Wave': 'checkControls',
  'Wait While Paused': 'awaitGate',
  'Wait For Wave Approval': 'awaitGate',
  'Deploy Wave': 'sendCommand',
  'Evaluate Wave': 'evaluateWave',
  'Check Alarms After Wave': 'checkAlarms',
  'Wait For Operator After Failure': 'awaitGate',
  'Send Rollback Command': 'sendCommand',
  'Record Rollback Results': 'evaluateWave',
  'Finalize Deployment': 'finalize',
};

/** The blue-green flow, state by state, as the console draws it. */
const BLUE_GREEN_GRAPH = {
  'Validate Spec And Acquire Lock': {
    type: 'Task',
    next: 'Plan Waves',
    'catch InvalidSpec': 'Spec Rejected',
    'catch LockHeld': 'Deployment Refused',
    'catch States.ALL': 'Deployment Not Started',
  },
  'Plan Waves': { type: 'Task', next: 'Run Pre-Checks', 'catch States.ALL': 'Mark Deployment Failed' },
  'Run Pre-Checks': { type: 'Task', next: 'Window Closed?', 'catch States.ALL': 'Mark Deployment Failed' },
  'Window Closed?': {
    type: 'Choice',
    'choice 1: $.windowOpensAt IsPresent true': 'Wait For Maintenance Window',
    default: 'Check Controls',
  },
  'Wait For Maintenance Window': { type: 'Wait', until: '$.windowOpensAt', next: 'Run Pre-Checks' },
  'Check Controls': { type: 'Task', next: 'Paused?', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Paused?': { type: 'Choice', 'choice 1: $.gate StringEquals "paused"': 'Wait While Paused', default: 'What Comes Next?' },
  'Wait While Paused': { type: 'Task', next: 'Check Controls', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'What Comes Next?': {
    type: 'Choice',
    'choice 1: $.wave NumericLessThanPath "$.waveCount"': 'Deploy Needs Approval?',
    'choice 2: $.trafficStep NumericLessThanPath "$.trafficSteps"': 'Traffic Shift Needs Approval?',
    default: 'Keep Blue For Switch-Back',
  },
  'Deploy Needs Approval?': {
    type: 'Choice',
    'choice 1: $.gate StringEquals "approval"': 'Wait For Deploy Approval',
    default: 'Deploy To Green',
  },
  'Wait For Deploy Approval': { type: 'Task', next: 'Deploy To Green', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Deploy To Green': {
    type: 'Task',
    next: 'Evaluate Green',
    'catch States.Timeout': 'Evaluate Green',
    'catch States.ALL': 'Switch Traffic Back To Blue',
  },
  'Evaluate Green': { type: 'Task', next: 'Green Within Error Budget?', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Green Within Error Budget?': {
    type: 'Choice',
    'choice 1: $.verdict StringEquals "failed"': 'Failure Policy?',
    default: 'Run Validation Command On Green',
  },
  'Run Validation Command On Green': {
    type: 'Task',
    next: 'Evaluate Validation',
    'catch States.Timeout': 'Evaluate Validation',
    'catch States.ALL': 'Switch Traffic Back To Blue',
  },
  'Evaluate Validation': { type: 'Task', next: 'Green Validated?', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Green Validated?': {
    type: 'Choice',
    'choice 1: $.verdict StringEquals "failed"': 'Failure Policy?',
    default: 'Check Alarms On Green',
  },
  'Check Alarms On Green': {
    type: 'Task',
    next: 'Check Controls',
    'catch AlarmFiring': 'Failure Policy?',
    'catch States.ALL': 'Switch Traffic Back To Blue',
  },
  'Traffic Shift Needs Approval?': {
    type: 'Choice',
    'choice 1: $.gate StringEquals "approval"': 'Wait For Traffic Shift Approval',
    default: 'Shift Traffic To Green',
  },
  'Wait For Traffic Shift Approval': { type: 'Task', next: 'Shift Traffic To Green', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Shift Traffic To Green': { type: 'Task', next: 'Wait For Bake Time', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Wait For Bake Time': { type: 'Wait', seconds: '$.bakeSeconds', next: 'Check Alarms After Shift' },
  'Check Alarms After Shift': {
    type: 'Task',
    next: 'Check Controls',
    'catch AlarmFiring': 'Failure Policy?',
    'catch States.ALL': 'Switch Traffic Back To Blue',
  },
  'Failure Policy?': {
    type: 'Choice',
    'choice 1: $.onFailure StringEquals "pause"': 'Wait For Operator After Failure',
    'choice 2: $.onFailure StringEquals "abort"': 'Stop Without Rollback',
    default: 'Switch Traffic Back To Blue',
  },
  'Wait For Operator After Failure': { type: 'Task', next: 'Check Controls', 'catch States.ALL': 'Switch Traffic Back To Blue' },
  'Stop Without Rollback': { type: 'Pass', next: 'Finalize Deployment' },
  'Keep Blue For Switch-Back': { type: 'Wait', seconds: '$.keepBlueSeconds', next: 'Mark Deployment Succeeded' },
  'Mark Deployment Succeeded': { type: 'Pass', next: 'Finalize Deployment' },
  'Switch Traffic Back To Blue': { type: 'Task', next: 'Finalize Deployment', 'catch States.ALL': 'Mark Switch-Back Failed' },
  'Mark Switch-Back Failed': { type: 'Pass', next: 'Finalize Deployment' },
  'Mark Deployment Failed': { type: 'Pass', next: 'Finalize Deployment' },
  'Finalize Deployment': { type: 'Task', next: 'Deployment Outcome?', 'catch States.ALL': 'Finalize Failed' },
  'Deployment Outcome?': {
    type: 'Choice',
    'choice 1: $.status StringEquals "SUCCEEDED"': 'Deployment Succeeded',
    'choice 2: $.status StringEquals "ROLLED_BACK"': 'Deployment Rolled Back',
    'choice 3: $.status StringEquals "ABORTED"': 'Deployment Aborted',
    default: 'Deployment Failed',
  },
  'Deployment Succeeded': { type: 'Succeed' },
  'Deployment Rolled Back': { type: 'Fail' },
  'Deployment Aborted': { type: 'Fail' },
  'Deployment Failed': { type: 'Fail' },
  'Finalize Failed': { type: 'Fail' },
  'Spec Rejected': { type: 'Fail' },
  'Deployment Refused': { type: 'Fail' },
  'Deployment Not Started': { type: 'Fail' },
};

/** Which function each blue-green task invokes. */
const BLUE_GREEN_INVOCATIONS: Record<string, HandlerName> = {
  'Validate Spec And Acquire Lock': 'validateSpec',
  'Plan Waves': 'planWaves',
  'Run Pre-Checks': 'runPreChecks',
  'Check Controls': 'checkControls',
  'Wait While Paused': 'awaitGate',
  'Wait For Deploy Approval': 'awaitGate',
  'Deploy To Green': 'sendCommand',
  'Evaluate Green': 'evaluateWave',
  'Run Validation Command On Green': 'sendCommand',
  'Evaluate Validation': 'evaluateWave',
  'Check Alarms On Green': 'checkAlarms',
  'Wait For Traffic Shift Approval': 'awaitGate',
  'Shift Traffic To Green': 'shiftTraffic',
  'Check Alarms After Shift': 'checkAlarms',
  'Wait For Operator After Failure': 'awaitGate',
  'Switch Traffic Back To Blue': 'switchBack',
  'Finalize Deployment': 'finalize',
};

const invocationsOf = (definition: AslDefinition) =>
  Object.fromEntries(tasksOf(definition).map(([name, state]) => [name, invokedHandler(state) ?? state.Resource]));

describe('the rolling state machine', () => {
  it('has exactly the states and transitions of the rolling flow', () => {
    expect(definitions.rolling.StartAt).toBe('Validate Spec And Acquire Lock');
    expect(graphOf(definitions.rolling)).toEqual(ROLLING_GRAPH);
  });

  it('invokes each orchestrator function from the states that own its step', () => {
    expect(invocationsOf(definitions.rolling)).toEqual(ROLLING_INVOCATIONS);
  });
});

describe.each(WAVE_STRATEGIES.filter((s) => s !== 'rolling'))('the %s state machine', (strategy) => {
  it('has the rolling flow, with its waves named after the strategy', () => {
    const names = Object.keys(definitions[strategy].States);
    for (const name of Object.values(WAVE_NAMES[strategy])) expect(names, strategy).toContain(name);
    expect(definitions[strategy].StartAt).toBe('Validate Spec And Acquire Lock');
    expect(graphOf(definitions[strategy])).toEqual(renameRolling(ROLLING_GRAPH, strategy));
  });

  it('invokes each orchestrator function from the same steps as the rolling flow', () => {
    expect(invocationsOf(definitions[strategy])).toEqual(renameRolling(ROLLING_INVOCATIONS, strategy));
  });
});

describe('the blue-green state machine', () => {
  it('has exactly the states and transitions of the blue-green flow', () => {
    expect(definitions.blueGreen.StartAt).toBe('Validate Spec And Acquire Lock');
    expect(graphOf(definitions.blueGreen)).toEqual(BLUE_GREEN_GRAPH);
  });

  it('invokes each orchestrator function from the states that own its step', () => {
    expect(invocationsOf(definitions.blueGreen)).toEqual(BLUE_GREEN_INVOCATIONS);
  });
});

describe.each(STRATEGIES)('the %s state machine', (strategy) => {
  const definition = () => definitions[strategy];

  it('is valid Amazon States Language, Lambda ARNs and JSONPath expressions included', () => {
    const result = aslValidator(definition(), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('stops any execution that runs longer than a day', () => {
    expect(definition().TimeoutSeconds).toBe(24 * 3600);
  });

  it('reaches every state from the start state', () => {
    expect([...reachableFrom(definition(), definition().StartAt)].sort()).toEqual(Object.keys(definition().States).sort());
  });

  it('invokes a Lambda function from every task, and never the functions that EventBridge or an operator calls', () => {
    const tasks = tasksOf(definition());
    expect(tasks.length).toBeGreaterThan(0);
    for (const [name, state] of tasks) {
      expect(state.Resource, name).toMatch(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/);
      expect(invokedHandler(state), name).toBeDefined();
      expect(['commandCallback', 'controlDeployment', 'executionStatus'], name).not.toContain(invokedHandler(state));
    }
  });

  it('retries transient Lambda and throttling errors with jittered exponential backoff on every task, first', () => {
    for (const [name, state] of tasksOf(definition())) {
      // The policy is the whole list: no LambdaInvoke default retrier ahead of it takes the service exceptions.
      expect(state.Retry?.[0], name).toEqual({
        ErrorEquals: [
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
          'Lambda.TooManyRequestsException',
          'ThrottlingException',
          'ProvisionedThroughputExceededException',
          'TooManyUpdates',
        ],
        IntervalSeconds: 2,
        MaxAttempts: 6,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
      expect(state.Retry, name).toHaveLength(2);
    }
  });

  it('runs a task again, at most twice, after its function died or its invocation timed out (Lambda.Unknown, ClientExecutionTimeoutException)', () => {
    for (const [name, state] of tasksOf(definition())) {
      expect(state.Retry?.[1], name).toEqual({
        ErrorEquals: ['Lambda.Unknown', 'Lambda.ClientExecutionTimeoutException'],
        IntervalSeconds: 1,
        MaxAttempts: 2,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
    }
  });

  it('never retries States.ALL or States.Timeout, so a failed wave is not silently re-sent', () => {
    for (const [name, state] of tasksOf(definition()))
      for (const r of state.Retry ?? []) {
        expect(r.ErrorEquals, name).not.toContain('States.ALL');
        expect(r.ErrorEquals, name).not.toContain('States.Timeout');
      }
  });

  it('waits for each command with a task token, for as long as the state says, and sends a timeout to the evaluation', () => {
    const waits = COMMAND_WAITS[strategy];
    expect(tasksInvoking(definition(), 'sendCommand').map(([name]) => name)).toEqual(expect.arrayContaining(Object.keys(waits)));
    expect(tasksInvoking(definition(), 'sendCommand')).toHaveLength(Object.keys(waits).length);
    for (const [name, { evaluation, phase }] of Object.entries(waits)) {
      const state = definition().States[name];
      expect(state?.Resource, name).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state?.TimeoutSecondsPath, name).toBe('$.waitSeconds');
      expect(state?.TimeoutSeconds, name).toBeUndefined();
      expect(state?.Parameters?.Payload, name).toEqual({ 'state.$': '$', 'taskToken.$': '$$.Task.Token', phase });
      expect(state?.Next, name).toBe(evaluation);
      // Catchers are tried in order: the timeout must come before the catch-all, which would otherwise take it.
      expect(
        state?.Catch?.map((c) => c.ErrorEquals),
        name,
      ).toEqual([['States.Timeout'], ['States.ALL']]);
      expect(state?.Catch?.[0], name).toEqual({ ErrorEquals: ['States.Timeout'], Next: evaluation, ResultPath: '$.callback' });
      expect(definition().States[evaluation]?.Parameters?.Payload, evaluation).toEqual({ 'state.$': '$', phase });
      expect(invokedHandler(definition().States[evaluation] ?? { Type: 'missing' }), evaluation).toBe('evaluateWave');
    }
  });

  it('parks each gate with a task token for a fixed time, keeping the state it had', () => {
    const gates = GATE_WAITS[strategy];
    expect(tasksInvoking(definition(), 'awaitGate').map(([name]) => name)).toEqual(expect.arrayContaining(Object.keys(gates)));
    expect(tasksInvoking(definition(), 'awaitGate')).toHaveLength(Object.keys(gates).length);
    for (const [name, kind] of Object.entries(gates)) {
      const state = definition().States[name];
      expect(state?.Resource, name).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state?.TimeoutSeconds, name).toBe(GATE_TIMEOUT_SECONDS);
      expect(state?.TimeoutSeconds ?? Number.POSITIVE_INFINITY, name).toBeLessThan(definition().TimeoutSeconds ?? 0);
      expect(state?.TimeoutSecondsPath, name).toBeUndefined();
      expect(state?.ResultPath, name).toBeNull();
      expect(state?.Parameters?.Payload, name).toEqual({ 'state.$': '$', 'taskToken.$': '$$.Task.Token', kind });
    }
  });

  it('waits for a closed maintenance window in a Wait state until the timestamp the pre-checks set, then runs them again', () => {
    const preChecks = definition().States['Run Pre-Checks'];
    const windowClosed = definition().States[preChecks?.Next ?? 'missing'];
    expect(windowClosed?.Type).toBe('Choice');
    expect(windowClosed?.Choices).toEqual([{ Variable: '$.windowOpensAt', IsPresent: true, Next: 'Wait For Maintenance Window' }]);
    const wait = definition().States['Wait For Maintenance Window'];
    expect(wait).toMatchObject({ Type: 'Wait', TimestampPath: '$.windowOpensAt', Next: 'Run Pre-Checks' });
    for (const other of ['Seconds', 'SecondsPath', 'Timestamp']) expect(wait, other).not.toHaveProperty(other);
    expect(invokedHandler(preChecks ?? { Type: 'missing' })).toBe('runPreChecks');
  });

  it('gives every task a catch-all as its last catcher, so no task failure ends the execution uncaught', () => {
    for (const [name, state] of tasksOf(definition())) expect(state.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
  });

  it(`sends every failure of a task after the pre-checks to the ${ROLLBACK_START[strategy]} path`, () => {
    const rollback = reachableFrom(definition(), ROLLBACK_START[strategy]);
    // Where the flow goes once the pre-checks have passed (not back to them through the window wait).
    const afterPreChecks = reachableFrom(definition(), definition().States['Window Closed?']?.Default ?? 'missing');
    const guarded = tasksOf(definition()).filter(([name]) => afterPreChecks.has(name) && !rollback.has(name));
    expect(guarded.length).toBeGreaterThanOrEqual(6);
    for (const [name, state] of guarded) expect(state.Catch?.at(-1), name).toMatchObject({ Next: ROLLBACK_START[strategy] });
  });

  it('leads every failure after the lock is taken to Finalize Deployment, which releases the lock', () => {
    const afterLock = tasksOf(definition()).filter(([name]) => name !== 'Validate Spec And Acquire Lock' && name !== 'Finalize Deployment');
    expect(afterLock.length).toBeGreaterThan(0);
    for (const [name, state] of afterLock)
      for (const c of state.Catch ?? [])
        expect(reachableFrom(definition(), c.Next).has('Finalize Deployment'), `${name} -> ${c.Next}`).toBe(true);
  });

  it('records the outcome before finalizing, as the finalize function reads it', () => {
    const marks = statesOf(definition()).filter(([, state]) => state.Type === 'Pass');
    const outcomes = Object.fromEntries(
      marks.map(([name, state]) => [name, { result: state.Result, at: state.ResultPath, next: state.Next }]),
    );
    const failed = { result: 'FAILED', at: '$.outcome', next: 'Finalize Deployment' };
    expect(outcomes).toEqual({
      'Mark Deployment Succeeded': { result: 'SUCCEEDED', at: '$.outcome', next: 'Finalize Deployment' },
      'Mark Deployment Failed': failed,
      'Stop Without Rollback': failed,
      [strategy === 'blueGreen' ? 'Mark Switch-Back Failed' : 'Mark Rollback Failed']: failed,
    });
  });

  it('gives every Fail state an error name and a cause, named as the handlers raise them', () => {
    const fails = statesOf(definition()).filter(([, state]) => state.Type === 'Fail');
    expect(Object.fromEntries(fails.map(([name, state]) => [name, state.Error]))).toEqual({
      'Spec Rejected': 'InvalidSpec',
      'Deployment Refused': 'LockHeld',
      'Deployment Not Started': 'DeploymentNotStarted',
      'Deployment Failed': 'DeploymentFailed',
      'Deployment Rolled Back': 'DeploymentRolledBack',
      'Deployment Aborted': 'DeploymentAborted',
      'Finalize Failed': 'FinalizeFailed',
    });
    for (const [name, state] of fails) expect(state.Cause ?? state.CausePath, name).toBeTruthy();
  });
});
