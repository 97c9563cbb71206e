import { describe, expect, it } from 'vitest';
import { deploymentProgress } from '#cli/local/progress.ts';
import type { StatusChangeDetail } from '#core/events.ts';
import { parseSpec } from '#core/spec.ts';
import type { StatusEvent } from '#ports';
import { blueGreenSpec, rollingSpec } from '#test/flows/harness.ts';
import { memoryRecords } from '#test/support/memory-ports.ts';

/** The progress lines of `deploy --local`, from status events and the record alone (no state machine). */

const event = (detail: Partial<StatusChangeDetail> & Pick<StatusChangeDetail, 'status'>): StatusEvent => ({
  detailType: 'Deployment Status Change',
  detail: { deploymentId: 'd-1', app: 'web', environment: 'test', ...detail },
});

async function planned(spec: ReturnType<typeof rollingSpec>, fields: { waveCount: number; hostCount: number }) {
  const records = memoryRecords();
  const now = new Date('2026-01-01T00:00:00Z');
  await records.deployments.createDeployment('d-1', parseSpec(spec), 'd-1', now);
  await records.deployments.updateDeployment('d-1', { status: 'RUNNING', ...fields }, now);
  return records;
}

describe('the local progress lines', () => {
  it('print the start, the plan read from the record, and each wave with the hosts done so far, in the order of the events', async () => {
    const records = await planned(rollingSpec('web', { strategy: { type: 'rolling', batchSize: '50%', maxErrors: 1 } }), {
      waveCount: 2,
      hostCount: 4,
    });
    const lines: string[] = [];
    const progress = deploymentProgress(records, (line) => lines.push(line));

    progress.onEvent(event({ status: 'STARTED', version: '2.0.0' }));
    progress.onEvent(event({ status: 'WAVE_STARTED', wave: 0 }));
    progress.onEvent(event({ status: 'WAVE_COMPLETED', wave: 0, hosts: 2, failed: 1 }));
    progress.onEvent(event({ status: 'WAVE_STARTED', wave: 1 }));
    progress.onEvent(event({ status: 'WAVE_COMPLETED', wave: 1, hosts: 2, failed: 1 }));
    progress.onEvent(event({ status: 'ROLLING_BACK' }));
    await progress.printed();

    expect(lines.map((line) => line.replace(/\(\d+\.\ds\)/, '(t)'))).toEqual([
      '  ✓ spec valid, lock on web/test taken (deployment d-1)',
      '  ✓ planned 2 waves over 4 hosts',
      '  ✓ pre-checks passed: hosts online, window open, alarms quiet',
      '  ✓ wave 1/2: 1 hosts done, 1 failed so far (t)',
      '  ✗ wave 2/2: 2 hosts done, 2 failed so far (t) — wave 2: 2 of 4 hosts failed, more than maxErrors allows (1)',
      '  ↩ rolling back the changed hosts',
    ]);
  });

  it('print the green plan, the approval wait before it, and each traffic shift of a blue-green deployment', async () => {
    const records = await planned(blueGreenSpec('web', { trafficSteps: [25, 100] }), { waveCount: 1, hostCount: 3 });
    const lines: string[] = [];
    const progress = deploymentProgress(records, (line) => lines.push(line));

    progress.onEvent(event({ status: 'AWAITING_APPROVAL', wave: 0 }));
    progress.onEvent(event({ status: 'TRAFFIC_SHIFTED', green: 25 }));
    progress.onEvent(event({ status: 'TRAFFIC_SHIFTED', green: 100 }));
    progress.onEvent(event({ status: 'SUCCEEDED' }));
    await progress.printed();

    expect(lines).toEqual([
      '  ✓ planned: 3 green hosts, then traffic in 2 step(s): 25% → 100%',
      '  ✓ pre-checks passed: hosts online, window open, alarms quiet',
      '  ⇄ traffic: green 25% / blue 75%',
      '  ⇄ traffic: green 100% / blue 0%',
    ]);
  });
});
