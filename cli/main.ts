import { Command, InvalidArgumentError, Option } from 'commander';
import { deployLocal } from './deploy-local.ts';
import { LOCAL_BLUE_TG, LOCAL_GREEN_TG, LOCAL_LISTENER } from './local/session.ts';
import { BadInput, specFromInput } from './spec-input.ts';

/** Exit codes: 0 success, 1 deployment failed or rolled back, 2 bad input. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function indexes(value: string): number[] {
  return value.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('give host numbers from 1, separated by commas (e.g. 3,7)');
    return n - 1;
  });
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('give a whole number of at least 1');
  return n;
}

/** The demo spec `npm start` deploys: 12 local hosts in batches of 25%, gated on a health alarm. */
const DEMO = {
  app: 'demo-web',
  environment: 'local',
  version: '2.0.0',
  previousVersion: '1.0.0',
  targets: { tags: { app: 'demo-web', environment: 'local' } },
  strategy: { type: 'rolling', batchSize: '25%', maxErrors: 0 },
  gates: { alarms: { names: ['demo-web-local-health'] }, bakeSeconds: 0 },
  requestedBy: 'npm start',
};

/** The demo spec under the user's flags; blue-green gets the local fleet's halves and listener. */
function demoSpec(flags: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...DEMO, ...flags };
  const strategy = spec.strategy as Record<string, unknown>;
  if (strategy.type === 'blueGreen') {
    spec.strategy = {
      blue: { tags: { ...DEMO.targets.tags, color: 'blue' } },
      green: { tags: { ...DEMO.targets.tags, color: 'green' } },
      listenerArn: LOCAL_LISTENER,
      blueTargetGroupArn: LOCAL_BLUE_TG,
      greenTargetGroupArn: LOCAL_GREEN_TG,
      ...strategy,
    };
  }
  return spec;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('deployctl')
    .description('Roll application versions, patches and playbooks onto SSM-managed fleets, wave by wave.')
    .showHelpAfterError()
    .exitOverride();

  let exitCode: number = EXIT.ok;
  program
    .command('deploy')
    .description('Start a deployment and show its progress until it ends.')
    .option('-f, --file <path>', 'spec file (YAML or JSON); flags override its values')
    .option('--app <name>', 'application name')
    .option('--env <name>', 'environment name')
    .option('--version <version>', 'version to deploy')
    .option('--previous-version <version>', 'version to roll back to (default: the last successful release)')
    .option('--tag <key=value>', 'target hosts with this tag (repeatable)', collect)
    .option('--instance-ids <ids>', 'target these instance ids (comma-separated)')
    .option('--strategy <type>', 'all-at-once | rolling | canary | linear | blue-green (default rolling)')
    .option('--batch-size <n|p%|list>', 'rolling batch size: a count, a percentage, or a list such as 1,5,25%')
    .option('--max-errors <n|p%>', 'failed hosts tolerated before the deployment rolls back (default 0)')
    .option('--min-healthy <n|p%>', 'hosts that must stay in service')
    .option('--stages <list>', 'canary: cumulative percentages, e.g. 10,50,100 (default)')
    .option('--step-percent <n>', 'linear: percentage of hosts per step (default 10)')
    .option('--interval-seconds <n>', 'linear: wait between steps (default 300)')
    .option('--traffic-steps <list>', "blue-green: green's traffic share per shift, e.g. 10,50,100 (default 100)")
    .option('--keep-blue-seconds <n>', 'blue-green: how long blue stays ready for a switch-back (default 3600)')
    .option('--bake-seconds <n>', 'wait after each wave before the alarm gate')
    .option('--approval <when>', 'none | firstWave | everyWave: wait for an approval before waves (default none)')
    .option('--auto-approve <who>', 'with --local: approve every wave in this name instead of asking at the terminal')
    .option('--alarm <name>', 'CloudWatch alarm that stops the deployment (repeatable)', collect)
    .option('--requested-by <who>', 'recorded in the audit trail', process.env.USER ?? 'unknown')
    .option('--deployment-id <id>', 'idempotency key and execution name (default: generated)')
    .option('--local', 'run on the local fleet with DynamoDB Local, not in AWS')
    .option('--demo', 'with --local: deploy the demo spec (demo-web 2.0.0 on 12 hosts); flags override it')
    .addOption(new Option('--hosts <n>', 'with --local: hosts in the local fleet').default(12).argParser(positive))
    .option('--fail-hosts <list>', 'with --local: hosts (numbered from 1) whose install fails, e.g. 3,7', indexes)
    .option('--offline-hosts <list>', 'with --local: hosts (numbered from 1) whose SSM agent is offline', indexes)
    .option('--alarm-in-wave <n>', 'with --local: a host of wave n reports unhealthy, which fires the alarm', positive)
    .option('--state-dir <path>', 'with --local: folder for the local fleet', '.deployctl')
    .option('--dynamodb-endpoint <url>', 'with --local: use this running DynamoDB Local instead of starting one')
    .option('--table <name>', 'with --local: table name in DynamoDB Local', 'deployctl')
    .option('--json', 'print the final deployment record as JSON on stdout (progress goes to stderr)')
    .option('--verbose', "show the handlers' structured logs")
    .action(async (opts) => {
      if (!opts.local) {
        throw new BadInput(
          'deploying to AWS from the CLI is not available yet; use --local, or start the state machine with `aws stepfunctions start-execution`',
        );
      }
      const spec = await specFromInput({ ...opts, requestedBy: opts.requestedBy });
      const input = opts.demo ? demoSpec(spec) : spec;
      const print = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      const { run, record } = await deployLocal(input, {
        stateDir: opts.stateDir,
        dynamoEndpoint: opts.dynamodbEndpoint,
        tableName: opts.table,
        hosts: opts.hosts,
        faults: { failingHosts: opts.failHosts, offlineHosts: opts.offlineHosts, alarmInWave: opts.alarmInWave },
        json: Boolean(opts.json),
        print,
        autoApprove: opts.autoApprove,
      });
      if (opts.json)
        process.stdout.write(
          `${JSON.stringify({ execution: { name: run.executionName, status: run.status, error: run.error }, record }, null, 2)}\n`,
        );
      else if (record) print(JSON.stringify(summary(record), null, 2));
      exitCode = record?.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
    });

  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof BadInput) {
      process.stderr.write(`deployctl: ${error.message}\n`);
      return EXIT.badInput;
    }
    if (error && typeof error === 'object' && 'code' in error && String(error.code).startsWith('commander.')) {
      const code = (error as { exitCode?: number }).exitCode ?? 2;
      return code === 0 ? EXIT.ok : EXIT.badInput;
    }
    throw error;
  }
}

/** The record as a person reads it at the end of a run. */
function summary(record: import('../lambdas/core/records.ts').DeploymentRecord) {
  return {
    deploymentId: record.deploymentId,
    status: record.status,
    reason: record.reason ?? undefined,
    app: record.spec.app,
    environment: record.spec.environment,
    version: record.spec.version,
    previousVersion: record.spec.previousVersion,
    waves: record.waveCount,
    hosts: record.hostCount,
    succeeded: record.succeeded,
    failed: record.failed,
    rolledBack: record.rolledBack,
    createdAt: record.createdAt,
    endedAt: record.endedAt,
  };
}
