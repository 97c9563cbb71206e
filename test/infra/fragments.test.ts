import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { CRASH_ERRORS, ERRORS, TRANSIENT_ERRORS } from '#core/errors.ts';
import { FanOutDeployment } from '#statemachines/fan-out.ts';
import { BakeAndCheck } from '#statemachines/fragments/bake-and-check.ts';
import { CommandWait } from '#statemachines/fragments/command-wait.ts';
import { FailurePolicy } from '#statemachines/fragments/failure-policy.ts';
import { Finalize } from '#statemachines/fragments/finalize.ts';
import { ApprovalGate, SafePoint } from '#statemachines/fragments/gates.ts';
import { Start } from '#statemachines/fragments/start.ts';
import type { FanOutFunctions } from '#statemachines/functions.ts';
import { RETRY_POLICY } from '#statemachines/retry-policy.ts';
import type { AslDefinition, AslState } from '#test/infra/synth.ts';

/** A function to invoke, by name: its ARN names it, so a task shows which one it invokes. */
const fn = (scope: Construct, name: string) =>
  lambda.Function.fromFunctionArn(scope, `${name}Fn`, `arn:aws:lambda:eu-west-1:123456789012:function:${name}`);

const FUNCTION_NAMES = [
  'validateSpec',
  'planWaves',
  'runPreChecks',
  'sendCommand',
  'evaluateWave',
  'checkAlarms',
  'finalize',
  'checkControls',
  'awaitGate',
] as const;
const functions = (scope: Construct) =>
  Object.fromEntries(FUNCTION_NAMES.map((name) => [name, fn(scope, name)])) as Record<(typeof FUNCTION_NAMES)[number], lambda.IFunction>;

/** The states a fragment links to but does not own, as Pass states. */
interface Targets {
  readonly after: sfn.Pass;
  readonly rollback: sfn.Pass;
  readonly finalize: sfn.Pass;
  readonly onAlarm: sfn.Pass;
  readonly resume: sfn.Pass;
}

/** Builds a fragment in a fresh stack, chains it (if it has ends) into a Pass state named "After" and renders the graph from its start. */
function render(build: (scope: Construct, fns: ReturnType<typeof functions>, targets: Targets) => sfn.StateMachineFragment) {
  const stack = new Stack();
  const pass = (name: string) => new sfn.Pass(stack, name);
  const targets: Targets = {
    after: pass('After'),
    rollback: pass('Rollback'),
    finalize: pass('Finalize'),
    onAlarm: pass('On Alarm'),
    resume: pass('Resume'),
  };
  const fragment = build(stack, functions(stack), targets);
  if (fragment.endStates.length > 0) fragment.next(targets.after);
  const definition = stack.resolve(new sfn.StateGraph(fragment.startState, 'test').toGraphJson()) as AslDefinition;
  return { fragment, definition };
}

/** The fragment's states that lead to "After": its end states, as chaining saw them. */
const leadingTo = (definition: AslDefinition, target: string) =>
  Object.entries(definition.States)
    .filter(([, state]) => state.Next === target || state.Default === target || (state.Choices ?? []).some((c) => c.Next === target))
    .map(([name]) => name)
    .sort();

/** The fragment's own states: all but the Pass targets it was given. */
const ownStates = (definition: AslDefinition) =>
  Object.keys(definition.States)
    .filter((name) => !['After', 'Rollback', 'Finalize', 'On Alarm', 'Resume'].includes(name))
    .sort();

const catchesOf = (state: AslState | undefined) => (state?.Catch ?? []).map((c) => `${c.ErrorEquals.join(',')} -> ${c.Next}`);

describe('the Start fragment', () => {
  const { fragment, definition } = render((scope, fns, t) => new Start(scope, 'Start', { functions: fns, finalize: t.finalize }));

  it('starts by validating the spec and ends at the default of the window choice', () => {
    expect(fragment.startState.stateId).toBe('Validate Spec And Acquire Lock');
    expect(leadingTo(definition, 'After')).toEqual(['Window Closed?']);
    expect(definition.States['Window Closed?']?.Choices?.[0]?.Next).toBe('Wait For Maintenance Window');
    expect(definition.States['Wait For Maintenance Window']?.Next).toBe('Run Pre-Checks');
  });

  it('ends a refused start in Fail states and records any later failure before finalizing', () => {
    expect(catchesOf(definition.States['Validate Spec And Acquire Lock'])).toEqual([
      'InvalidSpec -> Spec Rejected',
      'LockHeld -> Deployment Refused',
      'States.ALL -> Deployment Not Started',
    ]);
    for (const name of ['Plan Waves', 'Run Pre-Checks'])
      expect(catchesOf(definition.States[name])).toEqual(['States.ALL -> Mark Deployment Failed']);
    expect(definition.States['Mark Deployment Failed']).toMatchObject({ Result: 'FAILED', ResultPath: '$.outcome', Next: 'Finalize' });
  });
});

describe('the CommandWait fragment', () => {
  const { fragment, definition } = render(
    (scope, fns, t) =>
      new CommandWait(scope, 'Deploy', {
        send: 'Deploy Wave',
        evaluate: 'Evaluate Wave',
        phase: 'deploy',
        functions: fns,
        onError: t.rollback,
      }),
  );

  it('starts with the send and ends with the evaluation', () => {
    expect(fragment.startState.stateId).toBe('Deploy Wave');
    expect(leadingTo(definition, 'After')).toEqual(['Evaluate Wave']);
    expect(definition.States['Deploy Wave']?.Next).toBe('Evaluate Wave');
  });

  it('sends a timed-out wait to the reconciling evaluation before any other failure goes to the error path', () => {
    expect(catchesOf(definition.States['Deploy Wave'])).toEqual(['States.Timeout -> Evaluate Wave', 'States.ALL -> Rollback']);
    expect(catchesOf(definition.States['Evaluate Wave'])).toEqual(['States.ALL -> Rollback']);
    expect(definition.States['Deploy Wave']?.Parameters?.Payload).toMatchObject({ phase: 'deploy' });
    expect(definition.States['Evaluate Wave']?.Parameters?.Payload).toMatchObject({ phase: 'deploy' });
  });
});

describe('the BakeAndCheck fragment', () => {
  it('starts with the bake wait and ends with the alarm check', () => {
    const { fragment, definition } = render(
      (scope, fns, t) =>
        new BakeAndCheck(scope, 'Bake', {
          bake: 'Wait For Bake Time',
          alarms: 'Check Alarms After Wave',
          functions: fns,
          onAlarm: t.onAlarm,
          onError: t.rollback,
        }),
    );
    expect(fragment.startState.stateId).toBe('Wait For Bake Time');
    expect(definition.States['Wait For Bake Time']).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.bakeSeconds',
      Next: 'Check Alarms After Wave',
    });
    expect(leadingTo(definition, 'After')).toEqual(['Check Alarms After Wave']);
    expect(catchesOf(definition.States['Check Alarms After Wave'])).toEqual(['AlarmFiring -> On Alarm', 'States.ALL -> Rollback']);
  });

  it('checks the alarms at once when it has no bake', () => {
    const { fragment, definition } = render(
      (scope, fns, t) =>
        new BakeAndCheck(scope, 'Alarms', { alarms: 'Check Alarms On Green', functions: fns, onAlarm: t.onAlarm, onError: t.rollback }),
    );
    expect(fragment.startState.stateId).toBe('Check Alarms On Green');
    expect(ownStates(definition)).toEqual(['Check Alarms On Green']);
    expect(leadingTo(definition, 'After')).toEqual(['Check Alarms On Green']);
  });
});

describe('the SafePoint fragment', () => {
  const { fragment, definition } = render(
    (scope, fns, t) => new SafePoint(scope, 'SafePoint', { controls: 'Check Controls Before Wave', functions: fns, onError: t.rollback }),
  );

  it('starts with the controls check and ends at the default of the pause choice', () => {
    expect(fragment.startState.stateId).toBe('Check Controls Before Wave');
    expect(leadingTo(definition, 'After')).toEqual(['Paused?']);
    expect(definition.States['Paused?']?.Choices?.[0]?.Next).toBe('Wait While Paused');
    expect(definition.States['Wait While Paused']?.Next).toBe('Check Controls Before Wave');
  });

  it('sends an abort or any failure of the check or the pause to the error path', () => {
    for (const name of ['Check Controls Before Wave', 'Wait While Paused'])
      expect(catchesOf(definition.States[name])).toEqual(['States.ALL -> Rollback']);
  });
});

describe('the ApprovalGate fragment', () => {
  const { fragment, definition } = render(
    (scope, fns, t) =>
      new ApprovalGate(scope, 'Approval', {
        needsApproval: 'Wave Needs Approval?',
        approval: 'Wait For Wave Approval',
        functions: fns,
        onError: t.rollback,
      }),
  );

  it('starts with the choice and ends both at the approval and at the choice default', () => {
    expect(fragment.startState.stateId).toBe('Wave Needs Approval?');
    expect(leadingTo(definition, 'After')).toEqual(['Wait For Wave Approval', 'Wave Needs Approval?']);
    expect(definition.States['Wave Needs Approval?']?.Choices?.[0]?.Next).toBe('Wait For Wave Approval');
    expect(catchesOf(definition.States['Wait For Wave Approval'])).toEqual(['States.ALL -> Rollback']);
  });
});

describe('the FailurePolicy fragment', () => {
  const { fragment, definition } = render(
    (scope, fns, t) =>
      new FailurePolicy(scope, 'FailurePolicy', { functions: fns, rollback: t.rollback, resume: t.resume, finalize: t.finalize }),
  );

  it('starts with the policy choice and has no end: every branch leads to the targets it was given', () => {
    expect(fragment.endStates).toEqual([]);
    expect(() => fragment.next(new sfn.Pass(fragment, 'Anything'))).toThrow(/Cannot add to chain/);
    expect(fragment.startState.stateId).toBe('Failure Policy?');
    expect(leadingTo(definition, 'After')).toEqual([]);
    expect(definition.States['Failure Policy?']?.Default).toBe('Rollback');
    expect(definition.States['Wait For Operator After Failure']?.Next).toBe('Resume');
    expect(catchesOf(definition.States['Wait For Operator After Failure'])).toEqual(['States.ALL -> Rollback']);
    expect(definition.States['Stop Without Rollback']).toMatchObject({ Result: 'FAILED', Next: 'Finalize' });
  });
});

describe('the Finalize fragment', () => {
  it('starts with the finalize task and ends only in terminal states named after the status', () => {
    const { fragment, definition } = render((scope, fns) => new Finalize(scope, 'Ending', { fn: fns.finalize }));
    expect(fragment.startState.stateId).toBe('Finalize Deployment');
    expect(fragment.endStates).toEqual([]);
    expect(() => fragment.next(new sfn.Pass(fragment, 'Anything'))).toThrow(/Cannot add to chain/);
    expect(catchesOf(definition.States['Finalize Deployment'])).toEqual(['States.ALL -> Finalize Failed']);
    const fails = Object.fromEntries(
      Object.entries(definition.States)
        .filter(([, s]) => s.Type === 'Fail')
        .map(([name, s]) => [name, s.Error]),
    );
    expect(fails).toEqual({
      'Finalize Failed': ERRORS.FinalizeFailed,
      'Deployment Rolled Back': ERRORS.DeploymentRolledBack,
      'Deployment Aborted': ERRORS.DeploymentAborted,
      'Deployment Failed': ERRORS.DeploymentFailed,
    });
  });
});

describe('prefixing a reused fragment', () => {
  /** Two command waits with the same state names, one after the other, in one machine. */
  const twoWaits = (prefix: boolean) => {
    const stack = new Stack();
    const fns = functions(stack);
    const rollback = new sfn.Pass(stack, 'Rollback');
    const first = new CommandWait(stack, 'First', {
      send: 'Send',
      evaluate: 'Evaluate',
      phase: 'deploy',
      functions: fns,
      onError: rollback,
    });
    const second = new CommandWait(stack, 'Second', {
      send: 'Send',
      evaluate: 'Evaluate',
      phase: 'rollback',
      functions: fns,
      onError: rollback,
    });
    if (prefix) {
      first.prefixStates();
      second.prefixStates();
    }
    first.next(second);
    return stack.resolve(new sfn.StateGraph(first.startState, 'test').toGraphJson()) as AslDefinition;
  };

  it('keeps every state name unique when one fragment is used twice in a machine', () => {
    const definition = twoWaits(true);
    expect(ownStates(definition)).toEqual(['First: Evaluate', 'First: Send', 'Second: Evaluate', 'Second: Send']);
    expect(definition.States['First: Evaluate']?.Next).toBe('Second: Send');
    expect(catchesOf(definition.States['Second: Send'])).toEqual(['States.Timeout -> Second: Evaluate', 'States.ALL -> Rollback']);
  });

  it('is what makes a second copy possible: without it the names collide', () => {
    expect(() => twoWaits(false)).toThrow(/'Send'/);
  });
});

describe('the retry policy', () => {
  // The whole rendered Retry list: LambdaInvoke's default service-exception retrier is off, so nothing comes before it.
  const expected = [
    {
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
    },
    {
      ErrorEquals: ['Lambda.Unknown', 'Lambda.ClientExecutionTimeoutException'],
      IntervalSeconds: 1,
      MaxAttempts: 2,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    },
  ];

  it('retries transient faults and then crashes', () => {
    expect(RETRY_POLICY.map((retry) => retry.errors)).toEqual([[...TRANSIENT_ERRORS], [...CRASH_ERRORS]]);
  });

  it('is on every Lambda task of the fan-out, the region requests included', () => {
    const stack = new Stack();
    const names: (keyof FanOutFunctions)[] = ['startFanOut', 'requestRegion', 'regionCompleted', 'evaluateRegionWave', 'finalizeFanOut'];
    const fns = Object.fromEntries(names.map((name) => [name, fn(stack, name)])) as unknown as FanOutFunctions;
    const flow = new FanOutDeployment(stack, 'FanOut', { functions: fns });
    const definition = stack.resolve(new sfn.StateGraph(flow.startState.startState, 'fan-out').toGraphJson()) as AslDefinition;
    const tasks: [string, AslState][] = [];
    const collect = (states: Record<string, unknown>) => {
      for (const [name, state] of Object.entries(states) as [
        string,
        AslState & { ItemProcessor?: { States: Record<string, unknown> } },
      ][]) {
        if (state.Type === 'Task') tasks.push([name, state]);
        if (state.ItemProcessor) collect(state.ItemProcessor.States);
      }
    };
    collect(definition.States);
    expect(tasks.map(([name]) => name)).toContain('Request Regional Deployment');
    expect(tasks.map(([name]) => name)).toContain('Request Regional Rollback');
    for (const [name, task] of tasks) {
      expect(task.Retry, name).toEqual(expected);
    }
  });
});
