import { Command, InvalidArgumentError, Option } from 'commander';
import { type Backend, openBackend, type TargetOptions } from './backend.ts';
import * as commands from './commands.ts';
import { EXIT, osUser, output, refusalsAsBadInput, summary } from './commands.ts';
import { LOCAL_BLUE_TG, LOCAL_GREEN_TG, LOCAL_LISTENER } from './local/fleet-setup.ts';
import { metrics, sinceFlag } from './metrics.ts';

/** Local runs synthesize the stack: loaded only by the commands that run a deployment here. */
const deployLocal: typeof import('./deploy-local.ts').deployLocal = async (...args) =>
  (await import('./deploy-local.ts')).deployLocal(...args);
const rollbackLocal: typeof import('./deploy-local.ts').rollbackLocal = async (...args) =>
  (await import('./deploy-local.ts')).rollbackLocal(...args);

import { BadInput, specFromInput } from './spec-input.ts';

export { EXIT };

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

function interval(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.1) throw new InvalidArgumentError('give a number of seconds of at least 0.1');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('give a port from 0 to 65535');
  return n;
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
};

/** The demo spec under the user's flags; blue-green gets the local fleet's halves and listener. */
function demoSpec(flags: Record<string, unknown>): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...DEMO, ...flags };
  // Gate flags add to the demo's gates (its health alarm stays); strategy flags add to its strategy when the type is the same.
  spec.gates = { ...DEMO.gates, ...(flags.gates as Record<string, unknown> | undefined) };
  const given = flags.strategy as Record<string, unknown> | undefined;
  if (given && given.type === DEMO.strategy.type) spec.strategy = { ...DEMO.strategy, ...given };
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

/** Options every command takes: where it works and how it answers. */
function withTarget(command: Command): Command {
  return command
    .option('--local', 'work on the local fleet and DynamoDB Local kept in --state-dir, not in AWS')
    .option('--state-dir <path>', 'with --local: the folder that keeps the fleet and the records between commands', '.deployctl')
    .option('--dynamodb-endpoint <url>', 'with --local: use this running DynamoDB Local instead of the folder’s own')
    .option('--table <name>', 'with --local: table name in DynamoDB Local (default deployctl)')
    .option('--region <region>', 'AWS region of the deployctl stack (default: from the profile or AWS_REGION)')
    .option('--profile <name>', 'AWS shared-config profile to use (default: AWS_PROFILE or the default chain)')
    .option('--stack <name>', 'name of the deployed deployctl stack whose outputs name the table and machines', 'Deployctl')
    .option('--json', 'print the result as JSON on stdout; progress and messages go to stderr')
    .option('--verbose', "show the handlers' structured logs (local mode)");
}

/** The spec flags `deploy` and `plan` take; each overrides the spec file's value. */
function withSpec(command: Command): Command {
  return command
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
    .option('--alarm <name>', 'CloudWatch alarm that stops the deployment (repeatable)', collect)
    .option('--requested-by <who>', "recorded in the audit trail (default: the spec file's, else your user name)")
    .option('--deployment-id <id>', 'idempotency key and execution name (default: generated)')
    .option('--commit-time <iso>', 'when the deployed change was committed, e.g. 2026-03-01T09:30:00Z (gives the lead time in metrics)')
    .option('--demo', 'with --local: start from the demo spec (demo-web 2.0.0 on 12 local hosts); flags override it');
}

/** Multi-region flags of `deploy`. */
function withRegions(command: Command): Command {
  return command
    .option('--regions <list>', 'deploy region by region, one region per wave, e.g. us-east-1,eu-west-1 (multi-region fan-out)')
    .option(
      '--region-waves <waves>',
      'region waves: regions of a wave joined by ",", waves by ";", e.g. "us-east-1;eu-west-1,ap-southeast-2"',
    )
    .option(
      '--on-region-failure <policy>',
      'stop (default): a failed region stops the later waves; rollbackAll: also roll back the regions done',
    )
    .option('--region-bake-seconds <n>', 'wait between region waves (default 0)')
    .option(
      '--fault-region <region>',
      'with --local and regions: the region whose fleet gets the --fail-hosts / --offline-hosts / --alarm-in-wave faults',
    );
}

/** Lays the multi-region flags over the spec (the schema validates them). */
function regionFlags(spec: Record<string, unknown>, opts: Record<string, unknown>): Record<string, unknown> {
  const list = (text: string) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const out = { ...spec };
  if (opts.regions !== undefined) out.regions = list(String(opts.regions));
  if (opts.regionWaves !== undefined) out.regionWaves = String(opts.regionWaves).split(';').map(list);
  if (opts.onRegionFailure !== undefined || opts.regionBakeSeconds !== undefined) {
    const bake =
      opts.regionBakeSeconds === undefined
        ? undefined
        : /^\d+$/.test(String(opts.regionBakeSeconds))
          ? Number(opts.regionBakeSeconds)
          : opts.regionBakeSeconds;
    out.regionPolicy = {
      ...(spec.regionPolicy as Record<string, unknown> | undefined),
      ...(opts.onRegionFailure !== undefined ? { onFailure: opts.onRegionFailure } : {}),
      ...(bake !== undefined ? { bakeSeconds: bake } : {}),
    };
  }
  return out;
}

/** What `deploy --local` and `rollback --local` need to run a deployment in this process. */
function withLocalRun(command: Command): Command {
  return command
    .option('--auto-approve <who>', 'with --local: approve every wave in this name instead of waiting for `deployctl approve`')
    .addOption(
      new Option('--hosts <n>', 'with --local: hosts the local fleet gets for the app+env on first use (default 12)').argParser(positive),
    )
    .option('--reset-fleet', 'with --local: start from a new local fleet (all hosts back to no version)')
    .option('--fail-hosts <list>', 'with --local: hosts (numbered from 1) whose install fails, e.g. 3,7', indexes)
    .option('--offline-hosts <list>', 'with --local: hosts (numbered from 1) whose SSM agent is offline', indexes)
    .option('--alarm-in-wave <n>', 'with --local: a host of wave n reports unhealthy, which fires the alarm', positive)
    .option('--no-wait', 'AWS: start and print the deployment id without following it');
}

function targetOf(opts: Record<string, unknown>): TargetOptions {
  return {
    local: Boolean(opts.local),
    stateDir: String(opts.stateDir),
    stack: String(opts.stack),
    ...(opts.dynamodbEndpoint ? { dynamodbEndpoint: String(opts.dynamodbEndpoint) } : {}),
    ...(opts.table ? { table: String(opts.table) } : {}),
    ...(opts.region ? { region: String(opts.region) } : {}),
    ...(opts.profile ? { profile: String(opts.profile) } : {}),
  };
}

/** Opens the backend, runs the command, always closes (the local folder's DynamoDB Local stops with the last user). */
async function withBackend(opts: Record<string, unknown>, body: (backend: Backend) => Promise<number>): Promise<number> {
  const backend = await openBackend(targetOf(opts));
  try {
    return await body(backend);
  } finally {
    await backend.close();
  }
}

function who(opts: { by?: string }): string {
  return opts.by ?? osUser();
}

/** Who asked for a deployment: the flag, else the spec (file or demo), else the person running the command. */
function withRequester(spec: Record<string, unknown>): Record<string, unknown> {
  return spec.requestedBy ? spec : { ...spec, requestedBy: osUser() };
}

function localRunOptions(opts: Record<string, unknown>, json: boolean, print: (line: string) => void) {
  const target = targetOf(opts);
  return {
    stateDir: target.stateDir,
    ...(target.dynamodbEndpoint ? { dynamoEndpoint: target.dynamodbEndpoint } : {}),
    ...(target.table ? { tableName: target.table } : {}),
    ...(opts.hosts !== undefined ? { hosts: Number(opts.hosts) } : {}),
    resetFleet: Boolean(opts.resetFleet),
    faults: {
      failingHosts: opts.failHosts as number[] | undefined,
      offlineHosts: opts.offlineHosts as number[] | undefined,
      alarmInWave: opts.alarmInWave as number | undefined,
    },
    json,
    print,
    ...(opts.autoApprove ? { autoApprove: String(opts.autoApprove) } : {}),
  };
}

/** AWS setup problems the user fixes with a flag: credentials, region, stack name. */
function environmentProblem(error: unknown): string | undefined {
  const name = (error as Error | undefined)?.name ?? '';
  const message = (error as Error | undefined)?.message ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials|profile .* could not be found/i.test(message)) {
    return `no AWS credentials: ${message}; pass --profile <name> (or set AWS_PROFILE), or use --local`;
  }
  if (/Region is missing/i.test(message)) return 'no AWS region: pass --region <region> (or set AWS_REGION)';
  if (name === 'ValidationError' && /Stack with id .* does not exist/i.test(message)) {
    return `${message}: name the deployctl stack with --stack <name>`;
  }
  if (name === 'ELOCKED' || (error as { code?: string } | undefined)?.code === 'ELOCKED') {
    return `the local state folder is busy (another command holds its lock): ${message}`;
  }
  return undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('deployctl')
    .description('Roll application versions, patches and playbooks onto SSM-managed fleets, wave by wave.')
    .addHelpText(
      'after',
      `
Where: every command works on AWS (the stack named by --stack, with --profile
and --region), or with --local on the local fleet and DynamoDB Local kept in
--state-dir between commands.

Exit codes: 0 success; 1 the deployment failed, was rolled back or aborted;
2 bad input (the field and the fix are named, nothing is started); 3 an
unexpected error (its message is printed; --verbose shows where).

Examples:
  deployctl deploy --local --demo --approval firstWave
  deployctl approve --local <deployment-id> --comment "CAB-123"
  deployctl deploy -f deploy.yaml --version 1.4.1 --profile prod --region eu-west-1
  deployctl history --app web --env prod --json`,
    )
    .showHelpAfterError()
    .exitOverride();

  let exitCode: number = EXIT.ok;
  const act =
    (body: (...args: never[]) => Promise<number>) =>
    async (...args: unknown[]) => {
      exitCode = await body(...(args as never[]));
    };

  withRegions(withLocalRun(withSpec(withTarget(program.command('deploy')))))
    .description('Start a deployment and follow it to the end (locally it runs in this process).')
    .action(
      act(async (opts: Record<string, unknown>) => {
        const json = Boolean(opts.json);
        const out = output(json);
        const spec = regionFlags(await specFromInput(opts), opts);
        const input = withRequester(opts.demo ? demoSpec(spec) : spec);
        if (opts.local) {
          const { run, record } = await deployLocal(input, {
            ...localRunOptions(opts, json, out.line),
            ...(opts.faultRegion ? { faultRegion: String(opts.faultRegion) } : {}),
          });
          if (json) out.result({ execution: { name: run.executionName, status: run.status, error: run.error }, record });
          else if (record) out.line(JSON.stringify(summary(record), null, 2));
          return record?.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
        }
        if (opts.demo) throw new BadInput('--demo deploys to the local fleet: add --local');
        return withBackend(opts, async (backend) => {
          const started = await refusalsAsBadInput(() => backend.service.start(input));
          out.line(
            `deployctl: ${started.started ? 'started' : 'already started:'} deployment ${started.deploymentId} (${started.strategy})`,
          );
          if (opts.wait === false) {
            out.result(started);
            return EXIT.ok;
          }
          return commands.watch(backend, out, started.deploymentId, { intervalMs: 5000 });
        });
      }),
    );

  withSpec(withTarget(program.command('plan')))
    .description('Dry run: validate the spec, resolve the targets and print the waves. Nothing is recorded or changed.')
    .action(
      act(async (opts: Record<string, unknown>) => {
        const spec = await specFromInput(opts);
        return withBackend(opts, (backend) => commands.plan(backend, output(Boolean(opts.json)), opts.demo ? demoSpec(spec) : spec));
      }),
    );

  withTarget(program.command('status'))
    .description('Show a deployment: status, hosts done and failed, each wave, what it waits for. Exit 1 if it failed or was rolled back.')
    .argument('<deployment-id>', 'the deployment id (printed by deploy, list and history)')
    .action(
      act(async (id: string, opts: Record<string, unknown>) =>
        withBackend(opts, (b) => commands.status(b, output(Boolean(opts.json)), id)),
      ),
    );

  withTarget(program.command('watch'))
    .description('Follow a deployment until it ends: waves, hosts done and failed, approvals and pauses. Exit code as for status.')
    .argument('<deployment-id>', 'the deployment id')
    .addOption(new Option('--interval <seconds>', 'seconds between reads, at least 0.1 (default 2, locally 0.3)').argParser(interval))
    .addOption(new Option('--timeout <seconds>', 'give up (exit 2) if it has not ended after this long').argParser(positive))
    .action(
      act(async (id: string, opts: Record<string, unknown>) =>
        withBackend(opts, (b) =>
          commands.watch(b, output(Boolean(opts.json)), id, {
            intervalMs: (opts.interval as number | undefined) !== undefined ? Number(opts.interval) * 1000 : opts.local ? 300 : 2000,
            ...(opts.timeout ? { timeoutMs: Number(opts.timeout) * 1000 } : {}),
          }),
        ),
      ),
    );

  withTarget(program.command('list'))
    .description('List deployments, newest first.')
    .addOption(new Option('--limit <n>', 'deployments per page (at most 100)').default(20).argParser(positive))
    .option('--next-token <token>', 'continue from the page a previous list printed')
    .action(
      act(async (opts: Record<string, unknown>) =>
        withBackend(opts, (b) =>
          commands.list(b, output(Boolean(opts.json)), {
            limit: Number(opts.limit),
            ...(opts.nextToken ? { nextToken: String(opts.nextToken) } : {}),
          }),
        ),
      ),
    );

  withTarget(program.command('history'))
    .description('Finished deployments of one app in one environment, newest first: version, outcome, duration.')
    .requiredOption('--app <name>', 'application name')
    .requiredOption('--env <name>', 'environment name')
    .addOption(new Option('--limit <n>', 'releases per page (at most 100)').default(20).argParser(positive))
    .option('--next-token <token>', 'continue from the page a previous history printed')
    .action(
      act(async (opts: Record<string, unknown>) =>
        withBackend(opts, (b) =>
          commands.history(b, output(Boolean(opts.json)), {
            app: String(opts.app),
            env: String(opts.env),
            limit: Number(opts.limit),
            ...(opts.nextToken ? { nextToken: String(opts.nextToken) } : {}),
          }),
        ),
      ),
    );

  withTarget(program.command('metrics'))
    .description(
      'DORA metrics of one app in one environment from its release history: deployment frequency, lead time for changes, change failure rate and time to restore, with their performance bands.',
    )
    .requiredOption('--app <name>', 'application name')
    .requiredOption('--env <name>', 'environment name')
    .option('--since <when>', 'start of the window, which ends now: 12h, 30d, 2w, or an ISO 8601 date or date-time', '30d')
    .action(
      act(async (opts: Record<string, unknown>) => {
        const until = new Date();
        const since = sinceFlag(String(opts.since), until);
        return withBackend(opts, (b) =>
          metrics(b, output(Boolean(opts.json)), { app: String(opts.app), env: String(opts.env), since, until }),
        );
      }),
    );

  const controls = {
    approve: 'Approve the wave a deployment waits for.',
    reject: 'Reject the wave a deployment waits for: the changed hosts roll back.',
    abort: 'Abort a running deployment at its next safe point; the hosts it changed roll back.',
    pause: 'Hold a running deployment before its next wave.',
    resume: 'Let a paused deployment go on.',
  } as const;
  for (const [action, description] of Object.entries(controls) as [keyof typeof controls, string][]) {
    withTarget(program.command(action))
      .description(description)
      .argument('<deployment-id>', 'the deployment id')
      .option('--comment <text>', 'recorded in the audit trail with your name')
      .option('--by <who>', 'who asks, for the audit trail (default: $USER)')
      .action(
        act(async (id: string, opts: Record<string, unknown> & { by?: string }) =>
          withBackend(opts, (b) =>
            commands.control(b, output(Boolean(opts.json)), {
              deploymentId: id,
              action,
              by: who(opts),
              ...(opts.comment ? { comment: String(opts.comment) } : {}),
            }),
          ),
        ),
      );
  }

  withLocalRun(withTarget(program.command('rollback')))
    .description(
      'Roll a finished deployment back: a new deployment of its previous version with the same strategy (blue-green swaps the fleets).',
    )
    .argument('<deployment-id>', 'the finished deployment to undo')
    .option('--by <who>', 'who asks, for the audit trail (default: $USER)')
    .option(
      '--emergency',
      'every host at once, with no approval, bake, alarm gate or maintenance window; a host that fails leaves the hosts as they are',
    )
    .action(
      act(async (id: string, opts: Record<string, unknown> & { by?: string; emergency?: boolean }) => {
        const json = Boolean(opts.json);
        const out = output(json);
        const emergency = Boolean(opts.emergency);
        if (opts.local) {
          const { run, record } = await rollbackLocal({ rollbackOf: id, by: who(opts), emergency }, localRunOptions(opts, json, out.line));
          if (json) out.result({ execution: { name: run.executionName, status: run.status, error: run.error }, record });
          else if (record) out.line(JSON.stringify(summary(record), null, 2));
          return record?.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
        }
        return withBackend(opts, async (backend) => {
          const started = await refusalsAsBadInput(() => backend.service.rollback(id, who(opts), { emergency }));
          out.line(`deployctl: rollback of ${id} started as deployment ${started.deploymentId}`);
          if (opts.wait === false) {
            out.result(started);
            return EXIT.ok;
          }
          return commands.watch(backend, out, started.deploymentId, { intervalMs: 5000 });
        });
      }),
    );

  withTarget(program.command('logs'))
    .description("Each host's result and command output, then the audit trail (who did what, when).")
    .argument('<deployment-id>', 'the deployment id')
    .option('--host <instance-id>', 'only this host')
    .action(
      act(async (id: string, opts: Record<string, unknown>) =>
        withBackend(opts, (b) => commands.logs(b, output(Boolean(opts.json)), id, opts.host ? { host: String(opts.host) } : {})),
      ),
    );

  program
    .command('serve')
    .description(
      'Serve the HTTP API on localhost with the same handlers as API Gateway (no auth; the caller is local:<user> or X-Deployctl-Caller), so that curl and webhooks can be tried. Runs until Ctrl-C.',
    )
    .requiredOption('--local', 'required: serve the local fleet and DynamoDB Local kept in --state-dir (the AWS API is API Gateway)')
    .option('--state-dir <path>', 'the folder that keeps the fleet and the records between commands', '.deployctl')
    .option('--dynamodb-endpoint <url>', 'use this running DynamoDB Local instead of the folder’s own')
    .option('--table <name>', 'table name in DynamoDB Local (default deployctl)')
    .addOption(new Option('--port <n>', 'port to listen on (0: any free port)').default(8080).argParser(port))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--verbose', "show the handlers' structured logs")
    .action(
      act(async (opts: Record<string, unknown>) => {
        const { startLocalApi } = await import('./serve.ts');
        const log = (line: string) => process.stderr.write(`${line}\n`);
        const server = await startLocalApi({
          stateDir: String(opts.stateDir),
          ...(opts.dynamodbEndpoint ? { dynamoEndpoint: String(opts.dynamodbEndpoint) } : {}),
          ...(opts.table ? { tableName: String(opts.table) } : {}),
          port: Number(opts.port),
          host: String(opts.host),
          log,
        });
        process.stdout.write(`deployctl API on ${server.url} (state: ${String(opts.stateDir)}); Ctrl-C stops it\n`);
        // A signal may arrive twice (from the terminal's process group and relayed by tsx): stop once, ignore the rest.
        let stopping: Promise<void> | undefined;
        await new Promise<void>((resolve) => {
          const stop = () => {
            if (stopping) return;
            log('stopping: deployments still running end ABORTED');
            stopping = server.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        return EXIT.ok;
      }),
    );

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
    const setup = environmentProblem(error);
    if (setup) {
      process.stderr.write(`deployctl: ${setup}\n`);
      return EXIT.badInput;
    }
    // Anything else is ours or the service's: the message, not a stack (--verbose shows it).
    process.stderr.write(`deployctl: ${(error as Error).message ?? String(error)}\n`);
    if (argv.includes('--verbose')) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return EXIT.error;
  }
}
