import { describe, expect, it } from 'vitest';
import { DeploymentState, reasonOf } from '#core/state.ts';

describe('reasonOf', () => {
  it('gives the error name alone when there is no cause', () => {
    expect(reasonOf({ Error: 'States.Timeout' })).toBe('States.Timeout');
  });

  it('gives the error name alone when the cause is empty', () => {
    expect(reasonOf({ Error: 'States.Timeout', Cause: '' })).toBe('States.Timeout');
  });

  it('reads the errorMessage out of a Lambda error cause', () => {
    const cause = JSON.stringify({
      errorType: 'PreCheckFailed',
      errorMessage: 'hosts online: 1 of 3 hosts not online in SSM',
      trace: ['at x'],
    });

    expect(reasonOf({ Error: 'PreCheckFailed', Cause: cause })).toBe('PreCheckFailed: hosts online: 1 of 3 hosts not online in SSM');
  });

  it('prefixes a plain-text cause with the error name', () => {
    expect(reasonOf({ Error: 'States.TaskFailed', Cause: 'the heartbeat timed out' })).toBe('States.TaskFailed: the heartbeat timed out');
  });

  it('does not repeat the error name when the cause already starts with it', () => {
    expect(reasonOf({ Error: 'AlarmFiring', Cause: 'AlarmFiring: HighErrors in ALARM' })).toBe('AlarmFiring: HighErrors in ALARM');
  });

  it('prefixes a JSON cause without an errorMessage with the error name', () => {
    expect(reasonOf({ Error: 'States.Runtime', Cause: '{"detail":42}' })).toBe('States.Runtime: {"detail":42}');
  });

  it('ignores an errorMessage that is not a string', () => {
    expect(reasonOf({ Error: 'X', Cause: '{"errorMessage":{"nested":true}}' })).toBe('X: {"errorMessage":{"nested":true}}');
  });
});

describe('DeploymentState', () => {
  it('accepts the counters the state machine carries and a caught error', () => {
    const state = {
      deploymentId: 'dep-1',
      wave: 2,
      waveCount: 4,
      hostCount: 40,
      succeeded: 20,
      failed: 0,
      bakeSeconds: 60,
      waitSeconds: 720,
      error: { Error: 'AlarmFiring', Cause: 'x' },
    };

    expect(DeploymentState.parse(state)).toEqual(state);
  });

  it('refuses negative counters and a wait shorter than one second', () => {
    const result = DeploymentState.safeParse({
      deploymentId: 'dep-1',
      wave: -1,
      waveCount: 0,
      hostCount: 0,
      succeeded: 0,
      failed: 0,
      bakeSeconds: 0,
      waitSeconds: 0,
    });

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['wave', 'waitSeconds']);
  });
});
