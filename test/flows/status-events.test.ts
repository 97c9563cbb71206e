import { describe, expect, it } from 'vitest';
import { StatusChangeDetail } from '#core/events.ts';
import { blueGreenSpec, rollingSpec, startFlow } from '#test/flows/harness.ts';

/** What a subscriber sees: each event's status, with the wave for wave events. */
function timeline(events: readonly { detail: StatusChangeDetail }[]): string[] {
  return events.map(({ detail }) => (detail.wave === undefined ? detail.status : `${detail.status} ${detail.wave}`));
}

describe('the "Deployment Status Change" events a deployment puts', () => {
  it('announce the start, each wave started and completed, the approval wait and the end, in order, each valid against the schema', async () => {
    const spec = rollingSpec('events-success', { strategy: { type: 'rolling', batchSize: '50%' }, gates: { approval: 'firstWave' } });
    const flow = await startFlow(spec, 4);
    flow.orchestrator.events.onEvent((event) => {
      if (event.detail.status === 'AWAITING_APPROVAL') {
        void flow.orchestrator.control({ deploymentId: event.detail.deploymentId, action: 'approve', by: 'alice' });
      }
    });

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    const events = flow.orchestrator.events.received;
    expect(timeline(events)).toEqual([
      'STARTED',
      'AWAITING_APPROVAL 0',
      'WAVE_STARTED 0',
      'WAVE_COMPLETED 0',
      'WAVE_STARTED 1',
      'WAVE_COMPLETED 1',
      'SUCCEEDED',
    ]);
    for (const event of events) expect(StatusChangeDetail.safeParse(event.detail).error).toBeUndefined();
    expect(events.every((e) => e.detail.deploymentId === run.executionName && e.detail.app === 'events-success')).toBe(true);
    expect(events.at(-1)?.detail).toMatchObject({ status: 'SUCCEEDED', version: '2.0.0', hosts: 4, failed: 0, reason: null });
    expect(events.find((e) => e.detail.status === 'WAVE_COMPLETED')?.detail).toMatchObject({ wave: 0, hosts: 2, failed: 0 });
  });

  it('announce the failing wave with its failed hosts, the rollback and ROLLED_BACK', async () => {
    const spec = rollingSpec('events-rollback', { strategy: { type: 'rolling', batchSize: '50%' } });
    const flow = await startFlow(spec, 4, { failingHosts: [3] });

    const run = await flow.run(spec);

    expect(run.status).toBe('FAILED');
    expect(timeline(flow.orchestrator.events.received)).toEqual([
      'STARTED',
      'WAVE_STARTED 0',
      'WAVE_COMPLETED 0',
      'WAVE_STARTED 1',
      'WAVE_COMPLETED 1',
      'ROLLING_BACK 9999',
      'ROLLED_BACK',
    ]);
    const failedWave = flow.orchestrator.events.received.filter((e) => e.detail.status === 'WAVE_COMPLETED')[1];
    expect(failedWave?.detail).toMatchObject({ wave: 1, hosts: 2, failed: 1 });
    expect(flow.orchestrator.events.received.at(-1)?.detail.reason).toContain('wave 2');
  });

  it('announce each traffic shift of a blue-green deployment with green’s share', async () => {
    const spec = blueGreenSpec('events-bg', { trafficSteps: [50, 100] });
    const flow = await startFlow(spec, 4);

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    const shifts = flow.orchestrator.events.received.filter((e) => e.detail.status === 'TRAFFIC_SHIFTED').map((e) => e.detail.green);
    expect(shifts).toEqual([50, 100]);
    expect(flow.orchestrator.events.received.at(-1)?.detail.status).toBe('SUCCEEDED');
  });
});
