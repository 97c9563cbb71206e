import * as path from 'node:path';
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
  if (spec.strategy.type !== 'rolling' && spec.strategy.type !== 'allAtOnce') {
    throw new BadInput(`strategy.type: ${spec.strategy.type} has no state machine yet; use rolling or allAtOnce`);
  }
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
  try {
    const begin = Date.now();
    let waveStarted = begin;
    let waveCount = 0;
    const caught = new Set<string>();
    const onEvent = (event: EventLog) => {
      if (event.type === 'StateEntered' && event.state.name === 'Send Wave Command') waveStarted = Date.now();
      // A caught error still exits the state; its progress line is the failure's, printed at the end.
      if (event.type === 'StateCaught') caught.add(event.state.name);
      if (event.type !== 'StateExited' || caught.delete(event.state.name)) return;
      const out = event.state.output as Record<string, unknown> | undefined;
      switch (event.state.name) {
        case 'Validate Spec And Acquire Lock':
          print(`  ✓ spec valid, lock on ${spec.app}/${spec.environment} taken (deployment ${String(out?.deploymentId)})`);
          break;
        case 'Plan Waves':
          waveCount = Number(out?.waveCount);
          print(`  ✓ planned ${waveCount} waves over ${String(out?.hostCount)} hosts`);
          break;
        case 'Run Pre-Checks':
          print('  ✓ pre-checks passed: hosts online, window open, alarms quiet');
          break;
        case 'Evaluate Wave': {
          const wave = Number(out?.wave);
          const mark = out?.verdict === 'failed' ? '✗' : '✓';
          print(
            `  ${mark} wave ${wave}/${waveCount}: ${String(out?.succeeded)} hosts done, ${String(out?.failed)} failed so far (${seconds(Date.now() - waveStarted)})${out?.reason ? ` — ${String(out.reason)}` : ''}`,
          );
          break;
        }
        case 'Check Alarms':
          print('    alarms quiet after bake');
          break;
        case 'Record Rollback Results':
          print(`  ↩ ${String(out?.reason)}`);
          break;
      }
    };
    const run = await session.orchestrator.execute(
      'rolling',
      { ...rawSpec },
      { onEvent, ...(spec.deploymentId ? { executionName: spec.deploymentId } : {}) },
    );
    const deploymentId = spec.deploymentId ?? run.executionName;
    const record = await session.orchestrator.record(deploymentId).catch(() => undefined);
    const status = record?.status ?? run.status;
    print(
      `${status === 'SUCCEEDED' ? '✓' : '✗'} ${status} in ${seconds(Date.now() - begin)}${record?.reason ? `: ${record.reason}` : run.cause && !record ? `: ${run.cause}` : ''}`,
    );
    if (record?.checks?.some((c) => !c.passed)) {
      for (const check of record.checks) print(`    ${check.passed ? '✓' : '✗'} ${check.name}: ${check.reason}`);
    }
    return { run, record };
  } finally {
    await session.close();
  }
}
