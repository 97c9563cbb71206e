import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { DeploymentRecord } from '../lambdas/core/records.ts';
import { DeploymentSpec, toFieldErrors } from '../lambdas/core/spec.ts';
import type { EventLog, LocalRun } from './local/runner.ts';
import { createLocalFleet, type FleetFaults, startLocalSession } from './local/session.ts';
import { BadInput } from './spec-input.ts';

export interface LocalDeployOptions {
  /** Folder for the local fleet. */
  readonly stateDir: string;
  /** A running DynamoDB Local to use; by default one is started and stopped. */
  readonly dynamoEndpoint?: string;
  readonly tableName?: string;
  /** Hosts in the local fleet. */
  readonly hosts: number;
  readonly faults: FleetFaults;
  readonly json: boolean;
  /** Where progress lines go (stderr when --json, so stdout stays parseable). */
  readonly print: (line: string) => void;
  /** Approve every wave in this name; otherwise ask at the terminal (and reject when there is none). */
  readonly autoApprove?: string;
}

export interface LocalDeployResult {
  readonly run: LocalRun;
  readonly record: DeploymentRecord | undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * `deployctl deploy --local`: validates the spec (nothing starts if it is
 * invalid), builds a local fleet for it, runs the rolling state machine
 * and prints progress wave by wave.
 */
export async function deployLocal(rawSpec: Record<string, unknown>, options: LocalDeployOptions): Promise<LocalDeployResult> {
  const parsed = DeploymentSpec.safeParse(rawSpec);
  if (!parsed.success) {
    const fields = toFieldErrors(parsed.error);
    throw new BadInput(
      `the deployment spec is invalid; nothing was started:\n${fields.map((f) => `  ${f.field}: ${f.message}`).join('\n')}`,
    );
  }
  const spec = parsed.data;
  const print = options.print;
  const fleetDir = path.resolve(options.stateDir, 'fleet');
  await createLocalFleet(fleetDir, spec, options.hosts, options.faults);
  print(
    `deployctl: ${spec.strategy.type} deployment of ${spec.app} ${spec.version} to ${spec.environment} on ${options.hosts} local hosts`,
  );
  print(`  fleet: ${fleetDir}`);

  const started = Date.now();
  const session = await startLocalSession({ fleetDir, endpoint: options.dynamoEndpoint, tableName: options.tableName });
  print(
    `  state machine synthesized from the CDK stack; DynamoDB Local at ${session.dynamo?.endpoint ?? options.dynamoEndpoint} (${seconds(Date.now() - started)})`,
  );
  const orchestrator = session.orchestrator;
  const strategy = spec.strategy.type;
  const greenShares = spec.strategy.type === 'blueGreen' ? spec.strategy.trafficSteps : [];
  let deploymentId = spec.deploymentId;
  // Approvals: asked at the terminal, given by --auto-approve, or refused when nobody can answer.
  orchestrator.events.onEvent((event) => {
    if (event.detail.status !== 'AWAITING_APPROVAL') return;
    const id = String(event.detail.deploymentId);
    const wave = Number(event.detail.wave) + 1;
    void decide(wave, options.autoApprove, print).then((decision) =>
      orchestrator.control({
        deploymentId: id,
        by: decision.by,
        action: decision.approve ? 'approve' : 'reject',
        comment: decision.comment,
      }),
    );
  });
  // Ctrl-C asks for an abort (the hosts already changed roll back); a second Ctrl-C quits at once.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted || !deploymentId) process.exit(130);
    interrupted = true;
    print('  ! abort requested (Ctrl-C again to quit now): stopping after the current wave and rolling back');
    void orchestrator.control({ deploymentId, action: 'abort', by: process.env.USER ?? 'local user', comment: 'Ctrl-C' });
  };
  process.on('SIGINT', onInterrupt);
  try {
    const begin = Date.now();
    let waveStarted = begin;
    let waveCount = 0;
    const caught = new Set<string>();
    const onEvent = (event: EventLog) => {
      if (!('state' in event)) return;
      const handler = orchestrator.handlerOf(strategy, event.state.name);
      if (event.type === 'StateEntered' && handler === 'sendCommand') waveStarted = Date.now();
      // A caught error still exits the state; its progress line is the failure's, printed at the end.
      if (event.type === 'StateCaught') caught.add(event.state.name);
      if (event.type !== 'StateExited' || caught.delete(event.state.name)) return;
      const out = event.state.output as Record<string, unknown> | undefined;
      switch (handler) {
        case 'validateSpec':
          deploymentId = String(out?.deploymentId);
          print(`  ✓ spec valid, lock on ${spec.app}/${spec.environment} taken (deployment ${deploymentId})`);
          break;
        case 'planWaves':
          waveCount = Number(out?.waveCount);
          print(
            strategy === 'blueGreen'
              ? `  ✓ planned: ${String(out?.hostCount)} green hosts, then traffic in ${greenShares.length} step(s): ${greenShares.join('% → ')}%`
              : `  ✓ planned ${waveCount} waves over ${String(out?.hostCount)} hosts`,
          );
          break;
        case 'runPreChecks':
          print('  ✓ pre-checks passed: hosts online, window open, alarms quiet');
          break;
        case 'evaluateWave': {
          if (out?.outcome) {
            print(`  ↩ ${String(out.reason)}`);
          } else if (event.state.name.includes('Validation')) {
            if (spec.strategy.type === 'blueGreen' && !spec.strategy.validationCommand) break;
            print(`  ${out?.verdict === 'failed' ? '✗' : '✓'} validation on green${out?.reason ? ` — ${String(out.reason)}` : ''}`);
          } else {
            const wave = Number(out?.wave);
            const mark = out?.verdict === 'failed' ? '✗' : '✓';
            print(
              `  ${mark} wave ${wave}/${waveCount}: ${String(out?.succeeded)} hosts done, ${String(out?.failed)} failed so far (${seconds(Date.now() - waveStarted)})${out?.reason ? ` — ${String(out.reason)}` : ''}`,
            );
          }
          break;
        }
        case 'checkAlarms':
          print('    alarms quiet after bake');
          break;
        case 'shiftTraffic': {
          const green = greenShares[Number(out?.trafficStep) - 1] ?? 100;
          print(`  ⇄ traffic: green ${green}% / blue ${100 - green}%`);
          break;
        }
        case 'switchBack':
          print('  ↩ all traffic switched back to blue');
          break;
        case 'awaitGate':
          if (event.state.name.includes('Paused')) print('    resumed');
          break;
      }
    };
    const run = await orchestrator.execute(
      strategy,
      { ...rawSpec },
      { onEvent, ...(spec.deploymentId ? { executionName: spec.deploymentId } : {}) },
    );
    const record = await orchestrator.record(spec.deploymentId ?? run.executionName).catch(() => undefined);
    const status = record?.status ?? run.status;
    print(
      `${status === 'SUCCEEDED' ? '✓' : '✗'} ${status} in ${seconds(Date.now() - begin)}${record?.reason ? `: ${record.reason}` : run.cause && !record ? `: ${run.cause}` : ''}`,
    );
    if (record?.checks?.some((c) => !c.passed)) {
      for (const check of record.checks) print(`    ${check.passed ? '✓' : '✗'} ${check.name}: ${check.reason}`);
    }
    return { run, record };
  } finally {
    process.off('SIGINT', onInterrupt);
    await session.close();
  }
}

interface Decision {
  readonly approve: boolean;
  readonly by: string;
  readonly comment?: string;
}

/** Who approves a wave locally: --auto-approve, the person at the terminal, or nobody (rejected). */
async function decide(wave: number, autoApprove: string | undefined, print: (line: string) => void): Promise<Decision> {
  if (autoApprove) {
    print(`  ✓ wave ${wave} approved by ${autoApprove} (--auto-approve)`);
    return { approve: true, by: autoApprove };
  }
  const by = process.env.USER ?? 'local user';
  if (!process.stdin.isTTY) {
    print(`  ✗ wave ${wave} needs an approval and nobody can answer (not a terminal); pass --auto-approve <name>`);
    return { approve: false, by: 'deployctl', comment: 'no approver: not a terminal and no --auto-approve' };
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`  ? approve wave ${wave}? [y/N] `);
    return /^y(es)?$/i.test(answer.trim()) ? { approve: true, by } : { approve: false, by, comment: 'declined at the terminal' };
  } finally {
    prompt.close();
  }
}
