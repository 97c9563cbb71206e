import aslValidator from 'asl-validator';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '../../lib/orchestrator-functions.ts';
import { type AslDefinition, type AslState, placeholderArn, regionalStack, renderDefinition } from './synth.ts';

let definition: AslDefinition;

beforeAll(() => {
  const { stack } = regionalStack();
  definition = renderDefinition(stack, Template.fromStack(stack), 'rolling');
});

const states = () => Object.entries(definition.States);
const tasks = () => states().filter(([, state]) => state.Type === 'Task');
const lambdaTasks = () => tasks().filter(([, state]) => state.Resource?.startsWith('arn:aws:states:::lambda:invoke'));

/** A state's outgoing edges, labelled the way the console draws them. */
function edges(state: AslState): Record<string, string> {
  const out: Record<string, string> = {};
  if (state.Next) out.next = state.Next;
  for (const [i, choice] of (state.Choices ?? []).entries()) out[`choice ${i + 1}`] = choice.Next;
  if (state.Default) out.default = state.Default;
  for (const c of state.Catch ?? []) out[`catch ${c.ErrorEquals.join(',')}`] = c.Next;
  return out;
}

function reachableFrom(start: string): Set<string> {
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

describe('the rolling deployment state machine', () => {
  it('is valid Amazon States Language, Lambda ARNs and JSONPath expressions included', () => {
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('has exactly the states and transitions of the rolling flow', () => {
    const graph = Object.fromEntries(states().map(([name, state]) => [name, { type: state.Type, ...edges(state) }]));
    expect(definition.StartAt).toBe('Validate Spec And Acquire Lock');
    expect(graph).toEqual({
      'Validate Spec And Acquire Lock': {
        type: 'Task',
        next: 'Plan Waves',
        'catch InvalidSpec': 'Spec Rejected',
        'catch LockHeld': 'Deployment Refused',
        'catch States.ALL': 'Deployment Not Started',
      },
      'Plan Waves': { type: 'Task', next: 'Run Pre-Checks', 'catch States.ALL': 'Mark Deployment Failed' },
      'Run Pre-Checks': { type: 'Task', next: 'Send Wave Command', 'catch States.ALL': 'Mark Deployment Failed' },
      'Send Wave Command': {
        type: 'Task',
        next: 'Evaluate Wave',
        'catch States.Timeout': 'Evaluate Wave',
        'catch States.ALL': 'Send Rollback Command',
      },
      'Evaluate Wave': { type: 'Task', next: 'Within Error Budget?', 'catch States.ALL': 'Send Rollback Command' },
      'Within Error Budget?': { type: 'Choice', 'choice 1': 'Send Rollback Command', default: 'Wait For Bake Time' },
      'Wait For Bake Time': { type: 'Wait', next: 'Check Alarms' },
      'Check Alarms': { type: 'Task', next: 'More Waves?', 'catch States.ALL': 'Send Rollback Command' },
      'More Waves?': { type: 'Choice', 'choice 1': 'Send Wave Command', default: 'Mark Deployment Succeeded' },
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
        'choice 1': 'Deployment Succeeded',
        'choice 2': 'Deployment Rolled Back',
        default: 'Deployment Failed',
      },
      'Deployment Succeeded': { type: 'Succeed' },
      'Deployment Rolled Back': { type: 'Fail' },
      'Deployment Failed': { type: 'Fail' },
      'Finalize Failed': { type: 'Fail' },
      'Spec Rejected': { type: 'Fail' },
      'Deployment Refused': { type: 'Fail' },
      'Deployment Not Started': { type: 'Fail' },
    });
  });

  it('stops any execution that runs longer than a day', () => {
    expect(definition.TimeoutSeconds).toBe(24 * 3600);
  });

  it('reaches every state from the start state', () => {
    expect([...reachableFrom(definition.StartAt)].sort()).toEqual(Object.keys(definition.States).sort());
  });

  it('invokes each orchestrator function from the states that own its step', () => {
    const invoked = Object.fromEntries(tasks().map(([name, state]) => [name, state.Parameters?.FunctionName]));
    const fn = (handler: HandlerName) => placeholderArn(handler);
    expect(invoked).toEqual({
      'Validate Spec And Acquire Lock': fn('validateSpec'),
      'Plan Waves': fn('planWaves'),
      'Run Pre-Checks': fn('runPreChecks'),
      'Send Wave Command': fn('sendCommand'),
      'Evaluate Wave': fn('evaluateWave'),
      'Check Alarms': fn('checkAlarms'),
      'Send Rollback Command': fn('sendCommand'),
      'Record Rollback Results': fn('evaluateWave'),
      'Finalize Deployment': fn('finalize'),
    });
  });

  it('waits for the SSM callback with a task token and a timeout read from the state', () => {
    for (const name of ['Send Wave Command', 'Send Rollback Command']) {
      const state = definition.States[name];
      expect(state?.Resource, name).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(state?.TimeoutSecondsPath, name).toBe('$.waitSeconds');
      expect(state?.Parameters?.Payload, name).toMatchObject({ 'taskToken.$': '$$.Task.Token' });
    }
  });

  it('gives every task a catch-all as its last catcher, so no task failure ends the execution uncaught', () => {
    expect(tasks().length).toBeGreaterThan(0);
    for (const [name, state] of tasks()) expect(state.Catch?.at(-1)?.ErrorEquals, name).toEqual(['States.ALL']);
  });

  it('sends a timed-out wave or rollback to its evaluation before the catch-all can take it', () => {
    for (const [send, evaluation] of [
      ['Send Wave Command', 'Evaluate Wave'],
      ['Send Rollback Command', 'Record Rollback Results'],
    ] as const) {
      expect(definition.States[send]?.Catch?.[0], send).toEqual({
        ErrorEquals: ['States.Timeout'],
        Next: evaluation,
        ResultPath: '$.callback',
      });
    }
  });

  it('leads every failure after the lock is taken to Finalize Deployment, which releases the lock', () => {
    const afterLock = tasks().filter(([name]) => name !== 'Validate Spec And Acquire Lock' && name !== 'Finalize Deployment');
    expect(afterLock.length).toBeGreaterThan(0);
    for (const [name, state] of afterLock)
      for (const c of state.Catch ?? []) expect(reachableFrom(c.Next).has('Finalize Deployment'), `${name} -> ${c.Next}`).toBe(true);
  });

  it('retries transient Lambda and throttling errors with jittered exponential backoff on every Lambda task', () => {
    const transient = [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'ThrottlingException',
      'ProvisionedThroughputExceededException',
    ];
    expect(lambdaTasks()).toHaveLength(tasks().length);
    for (const [name, state] of lambdaTasks()) {
      const retry = state.Retry?.find((r) => r.ErrorEquals.includes('ThrottlingException'));
      expect(retry?.ErrorEquals, name).toEqual(expect.arrayContaining(transient));
      expect(retry, name).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: expect.any(Number) });
      expect(retry?.BackoffRate ?? 0, name).toBeGreaterThan(1);
      // The LambdaInvoke default retry for the service's own faults stays in place.
      expect(
        state.Retry?.some((r) => r.ErrorEquals.includes('Lambda.ClientExecutionTimeoutException')),
        name,
      ).toBe(true);
    }
  });

  it('never retries States.ALL or States.Timeout, so a failed wave is not silently re-sent', () => {
    for (const [name, state] of tasks())
      for (const r of state.Retry ?? []) expect(r.ErrorEquals, name).not.toEqual(expect.arrayContaining(['States.ALL']));
    for (const [name, state] of tasks())
      for (const r of state.Retry ?? []) expect(r.ErrorEquals, name).not.toEqual(expect.arrayContaining(['States.Timeout']));
  });

  it('gives every Fail state an error name and a cause, named as the handlers raise them', () => {
    const fails = states().filter(([, state]) => state.Type === 'Fail');
    expect(Object.fromEntries(fails.map(([name, state]) => [name, state.Error]))).toEqual({
      'Spec Rejected': 'InvalidSpec',
      'Deployment Refused': 'LockHeld',
      'Deployment Not Started': 'DeploymentNotStarted',
      'Deployment Failed': 'DeploymentFailed',
      'Deployment Rolled Back': 'DeploymentRolledBack',
      'Finalize Failed': 'FinalizeFailed',
    });
    for (const [name, state] of fails) expect(state.Cause ?? state.CausePath, name).toBeTruthy();
  });
});
