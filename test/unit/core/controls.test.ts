import { describe, expect, it } from 'vitest';
import { abortMessage, needsApproval, nextStep } from '#core/controls.ts';
import { stateOf } from '#test/support/fixtures.ts';

describe('nextStep', () => {
  it('is a wave while waves remain, then a traffic step while steps remain, then done', () => {
    expect(nextStep(stateOf({ wave: 0, waveCount: 1, trafficStep: 0, trafficSteps: 1 }))).toBe('wave');
    expect(nextStep(stateOf({ wave: 1, waveCount: 1, trafficStep: 0, trafficSteps: 1 }))).toBe('traffic');
    expect(nextStep(stateOf({ wave: 1, waveCount: 1, trafficStep: 1, trafficSteps: 1 }))).toBe('done');
  });
});

describe('needsApproval', () => {
  it('asks before the first wave under firstWave, before every step under everyWave, and never once done', () => {
    expect(needsApproval(stateOf({ wave: 0, waveCount: 2 }), 'firstWave')).toBe(true);
    expect(needsApproval(stateOf({ wave: 1, waveCount: 2 }), 'firstWave')).toBe(false);
    expect(needsApproval(stateOf({ wave: 1, waveCount: 2 }), 'everyWave')).toBe(true);
    expect(needsApproval(stateOf({ wave: 2, waveCount: 2 }), 'everyWave')).toBe(false);
    expect(needsApproval(stateOf({ wave: 0, waveCount: 2 }), 'none')).toBe(false);
  });
});

describe('abortMessage', () => {
  it('names who aborted, and why when they said', () => {
    expect(abortMessage({ by: 'alice' })).toBe('aborted by alice');
    expect(abortMessage({ by: 'alice', comment: 'bad build' })).toBe('aborted by alice: bad build');
  });
});
