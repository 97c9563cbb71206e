import type { DeploymentRecord } from '#core/records.ts';
import { evaluateThresholds } from '#core/thresholds.ts';
import type { RecordStores, StatusEvent } from '#ports';

/** Seconds with one decimal, as the progress lines show durations. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The progress of one local deployment: a line per status change it announces. */
export interface Progress {
  /** Takes one "Deployment Status Change" event (in the order they were put). */
  readonly onEvent: (event: StatusEvent) => void;
  /** Resolves once every line of the events taken so far is printed. */
  readonly printed: () => Promise<void>;
}

/**
 * Progress lines from the "Deployment Status Change" events the functions put
 * (never from state names), plus one read of the record for the plan. The
 * lines of one event are printed before the next event's, whatever the reads
 * take. Approvals are the caller's (they need an answer, not a line). One
 * deployment per Progress: the local run of `deploy --local`.
 */
export function deploymentProgress(records: Pick<RecordStores, 'deployments'>, print: (line: string) => void): Progress {
  let queue = Promise.resolve();
  let plan: DeploymentRecord | undefined;
  let done = 0;
  let failed = 0;
  let paused = false;
  const waveStarted = new Map<number, number>();

  const planned = async (deploymentId: string): Promise<DeploymentRecord> => {
    if (plan) return plan;
    plan = await records.deployments.getDeployment(deploymentId);
    const strategy = plan.spec.strategy;
    if (strategy.type === 'blueGreen') {
      const steps = strategy.trafficSteps;
      print(`  ✓ planned: ${String(plan.hostCount)} green hosts, then traffic in ${steps.length} step(s): ${steps.join('% → ')}%`);
    } else {
      print(`  ✓ planned ${String(plan.waveCount)} waves over ${String(plan.hostCount)} hosts`);
    }
    print('  ✓ pre-checks passed: hosts online, window open, alarms quiet');
    return plan;
  };

  const line = async ({ detail }: StatusEvent, at: number): Promise<void> => {
    const wave = detail.wave ?? 0;
    switch (detail.status) {
      case 'STARTED':
        print(`  ✓ spec valid, lock on ${detail.app}/${detail.environment} taken (deployment ${detail.deploymentId})`);
        break;
      case 'WAITING_FOR_WINDOW':
        print(`  ⏸ window closed: waiting until ${String(detail.opensAt)} (local mode skips ahead)`);
        break;
      case 'AWAITING_APPROVAL':
        await planned(detail.deploymentId);
        break;
      case 'PAUSED':
        paused = true;
        print(`  ⏸ paused: deployctl resume --local ${detail.deploymentId} (or abort)`);
        break;
      case 'WAVE_STARTED':
        await planned(detail.deploymentId);
        if (paused) print('    resumed');
        paused = false;
        waveStarted.set(wave, at);
        break;
      case 'WAVE_COMPLETED': {
        const record = await planned(detail.deploymentId);
        done += (detail.hosts ?? 0) - (detail.failed ?? 0);
        failed += detail.failed ?? 0;
        const { maxErrors, minHealthy } = record.spec.strategy;
        const verdict = evaluateThresholds({ total: record.hostCount ?? 0, failed }, maxErrors, minHealthy);
        const took = seconds(at - (waveStarted.get(wave) ?? at));
        print(
          `  ${verdict.ok ? '✓' : '✗'} wave ${wave + 1}/${String(record.waveCount)}: ${done} hosts done, ${failed} failed so far (${took})${verdict.reason ? ` — wave ${wave + 1}: ${verdict.reason}` : ''}`,
        );
        break;
      }
      case 'VALIDATING':
        print('  … validating green before traffic moves');
        break;
      case 'TRAFFIC_SHIFTED': {
        const green = detail.green ?? 100;
        print(`  ⇄ traffic: green ${green}% / blue ${100 - green}%`);
        break;
      }
      case 'ROLLING_BACK':
        print('  ↩ rolling back the changed hosts');
        break;
      default:
        // The end: the caller prints the final record.
        break;
    }
  };

  return {
    onEvent(event) {
      const at = Date.now();
      queue = queue.then(() => line(event, at)).catch((error: unknown) => print(`    (progress: ${(error as Error).message})`));
    },
    printed: () => queue,
  };
}
