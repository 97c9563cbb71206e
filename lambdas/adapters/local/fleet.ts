import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DEFAULT_MANAGED_TAG, type ManagedInstanceTag } from '#core/managed-tag.ts';
import { ALLOWED_AWS_DOCUMENTS, DEPLOY_DOCUMENT } from '#core/spec.ts';
import type { AlarmState, Alarms, CommandRequest, FleetCommands, HostInfo, Inventory, Invocation } from '#ports';

/** A host of the local fleet, as stored in `<fleet>/<instanceId>/host.json`. */
export interface LocalHost {
  readonly instanceId: string;
  readonly tags: Record<string, string>;
  /** False: the SSM agent is not connected (PingStatus ConnectionLost); commands are never delivered. */
  readonly online: boolean;
}

/** A file in a host's folder: its agent disconnects when the next command arrives (a fault: offline mid-deployment). */
export const DISCONNECT_MARKER = 'disconnect-on-command';

/** What SSM would put on EventBridge when a command finishes. */
export interface CommandStatusEvent {
  readonly source: 'aws.ssm';
  readonly 'detail-type': 'EC2 Command Status-change Notification';
  readonly detail: { readonly 'command-id': string; readonly status: string; readonly 'document-name': string };
}

export interface LocalFleetOptions {
  /** The fleet folder: one sandbox folder per host. */
  readonly dir: string;
  /** Scripts of the command documents the fleet can run, by document name. */
  readonly documents: Readonly<Record<string, string>>;
  /** Called when a command has finished on every host (SSM's status event). */
  readonly onCommandFinished: (event: CommandStatusEvent) => void;
  /** How many host scripts run at once. @default 16 */
  readonly concurrency?: number;
  /**
   * The tag every host of a SendCommand must carry, as the `ssm:resourceTag`
   * condition of the deployed stack requires (lib/orchestrator-functions.ts).
   * @default { key: 'deployctl:managed', value: 'true' }
   */
  readonly managedTag?: ManagedInstanceTag;
}

/**
 * What SSM answers a SendCommand whose caller may not command one of the
 * instances (here: a host without the managed tag): the whole call fails and
 * no host gets the command.
 */
export class AccessDeniedException extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AccessDeniedException';
  }
}

interface CommandRun {
  readonly invocations: Map<string, Invocation>;
  readonly document: string;
  readonly comment: string;
}

/**
 * The local fleet: each host is a folder, each command runs the document's
 * script under /bin/sh inside that folder, with the document parameters as
 * environment variables (SSM_<name>, as SSM's ENV_VAR interpolation does).
 * It implements the same ports as SSM: Run Command and the inventory.
 */
export class LocalFleet implements FleetCommands, Inventory {
  private readonly commands = new Map<string, CommandRun>();
  private hosts: Map<string, LocalHost> | undefined;
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly options: LocalFleetOptions) {}

  /** Creates hosts (folders and host.json files). */
  static async create(dir: string, hosts: readonly LocalHost[]): Promise<void> {
    for (const host of hosts) {
      const hostDir = path.join(dir, host.instanceId);
      await mkdir(hostDir, { recursive: true });
      await writeFile(path.join(hostDir, 'host.json'), `${JSON.stringify(host, null, 2)}\n`);
    }
  }

  /** A host's folder: what the document script sees as its root. */
  hostDir(instanceId: string): string {
    // Absolute: the script runs inside the host folder and finds its root through DEPLOYCTL_ROOT.
    return path.resolve(this.options.dir, instanceId);
  }

  /** Reads the fleet folder again on next use (hosts were added while this fleet was in use). */
  reload(): void {
    this.hosts = undefined;
  }

  private async load(): Promise<Map<string, LocalHost>> {
    if (!this.hosts) {
      const hosts = new Map<string, LocalHost>();
      // A fleet folder not created yet is a fleet with no hosts.
      const entries = await readdir(this.options.dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const host = JSON.parse(await readFile(path.join(this.options.dir, entry.name, 'host.json'), 'utf8')) as LocalHost;
        hosts.set(host.instanceId, host);
      }
      this.hosts = hosts;
    }
    return this.hosts;
  }

  async resolve(targets: { tags?: Record<string, string>; instanceIds?: string[]; resourceGroup?: string }): Promise<string[]> {
    const hosts = await this.load();
    if (targets.instanceIds) return [...new Set(targets.instanceIds)];
    if (targets.tags) {
      const wanted = Object.entries(targets.tags);
      return [...hosts.values()].filter((h) => wanted.every(([k, v]) => h.tags[k] === v)).map((h) => h.instanceId);
    }
    throw new Error('resource group targets are not supported on the local fleet; use tags or instanceIds');
  }

  async pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]> {
    const hosts = await this.load();
    return instanceIds.map((instanceId) => {
      const host = hosts.get(instanceId);
      return { instanceId, pingStatus: host ? (host.online ? 'Online' : 'ConnectionLost') : 'Unknown' };
    });
  }

  async send(request: CommandRequest): Promise<string> {
    if (request.instanceIds.length === 0 || request.instanceIds.length > 50) {
      throw new RangeError(`SendCommand takes 1 to 50 instance ids, got ${request.instanceIds.length}`);
    }
    const script = this.script(request);
    const hosts = await this.load();
    this.authorize(request, hosts);
    const commandId = randomUUID();
    const run: CommandRun = { invocations: new Map(), document: request.document, comment: request.comment };
    this.commands.set(commandId, run);
    for (const id of request.instanceIds) run.invocations.set(id, { instanceId: id, status: 'Pending', statusDetails: 'Pending' });
    // Like SSM, SendCommand returns at once; the hosts run the command afterwards.
    void Promise.all(
      request.instanceIds.map(async (id) => {
        const host = await this.disconnectIfDue(hosts, id);
        if (!host?.online) {
          run.invocations.set(id, {
            instanceId: id,
            status: 'DeliveryTimedOut',
            statusDetails: 'DeliveryTimedOut: the agent is not connected',
          });
          return;
        }
        run.invocations.set(id, await this.runOnHost(host, commandId, request, script));
      }),
    ).then(() => {
      const statuses = [...run.invocations.values()].map((i) => i.status);
      const status = statuses.every((s) => s === 'Success') ? 'Success' : statuses.some((s) => s === 'TimedOut') ? 'TimedOut' : 'Failed';
      this.options.onCommandFinished({
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Status-change Notification',
        detail: { 'command-id': commandId, status, 'document-name': request.document },
      });
    });
    return commandId;
  }

  /**
   * Local commands live as long as this process, so the search needs no time
   * bound (the handlers' clock may be simulated, ahead of this fleet's).
   */
  async findCommand(query: { instanceId: string; document: string; comment: string }): Promise<string | undefined> {
    for (const [commandId, run] of this.commands) {
      if (run.document === query.document && run.comment === query.comment && run.invocations.has(query.instanceId)) return commandId;
    }
    return undefined;
  }

  /** The host, after its agent dropped if its folder holds the disconnect marker (the marker is used up). */
  private async disconnectIfDue(hosts: Map<string, LocalHost>, id: string): Promise<LocalHost | undefined> {
    const host = hosts.get(id);
    if (!host?.online) return host;
    const marker = path.join(this.hostDir(id), DISCONNECT_MARKER);
    try {
      await unlink(marker);
    } catch {
      return host; // no marker: the agent stays connected
    }
    const offline = { ...host, online: false };
    await writeFile(path.join(this.hostDir(id), 'host.json'), `${JSON.stringify(offline, null, 2)}\n`);
    hosts.set(id, offline);
    return offline;
  }

  async invocations(commandId: string): Promise<Invocation[]> {
    const run = this.commands.get(commandId);
    if (!run) throw Object.assign(new Error(`InvalidCommandId: ${commandId}`), { name: 'InvalidCommandId' });
    return [...run.invocations.values()];
  }

  /** The IAM check of the deployed stack: every instance of the call carries the managed tag, or nothing is sent. */
  private authorize(request: CommandRequest, hosts: ReadonlyMap<string, LocalHost>): void {
    const { key, value } = this.options.managedTag ?? DEFAULT_MANAGED_TAG;
    const denied = request.instanceIds.find((id) => hosts.get(id)?.tags[key] !== value);
    if (denied === undefined) return;
    throw new AccessDeniedException(
      `User: arn:aws:sts::000000000000:assumed-role/deployctl-local/sendCommand is not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:local:000000000000:instance/${denied} because no identity-based policy allows the ssm:SendCommand action (the host does not carry the tag ${key}=${value})`,
    );
  }

  private script(request: CommandRequest): string {
    if (request.document === 'AWS-RunShellScript') return (request.parameters.commands ?? []).join('\n');
    const script = this.options.documents[request.document];
    if (script === undefined) {
      const known = [DEPLOY_DOCUMENT, ...ALLOWED_AWS_DOCUMENTS.filter((d) => d === 'AWS-RunShellScript')];
      throw new Error(`the local fleet cannot run ${request.document}; it runs ${known.join(', ')}`);
    }
    return script;
  }

  private async runOnHost(host: LocalHost, commandId: string, request: CommandRequest, script: string): Promise<Invocation> {
    await this.slot();
    try {
      const dir = this.hostDir(host.instanceId);
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', DEPLOYCTL_ROOT: dir, HOME: dir };
      for (const [name, values] of Object.entries(request.parameters)) env[`SSM_${name}`] = values.join('\n');
      await appendFile(
        path.join(dir, 'commands.log'),
        `${JSON.stringify({ commandId, document: request.document, parameters: request.parameters, at: new Date().toISOString() })}\n`,
      );
      const { code, output, timedOut } = await runShell(script, dir, env, request.timeoutSeconds * 1000);
      const status = timedOut ? 'TimedOut' : code === 0 ? 'Success' : 'Failed';
      return {
        instanceId: host.instanceId,
        status,
        statusDetails: timedOut ? 'ExecutionTimedOut' : code === 0 ? 'Success' : `Failed: exit code ${code}`,
        output: output.slice(-2500),
      };
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.running < (this.options.concurrency ?? 16)) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}

function runShell(
  script: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, output: `${output}${error.message}`, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output, timedOut });
    });
  });
}

/**
 * Local CloudWatch: an alarm per selector name, computed from what the hosts
 * report. A host reports by writing `unhealthy` to its `health` file; any
 * such host puts every alarm the spec names (or one named by its prefix) in ALARM.
 */
export class LocalAlarms implements Alarms {
  constructor(private readonly fleetDir: string) {}

  async describe(selector: { names?: string[]; prefix?: string }): Promise<AlarmState[]> {
    const names = selector.names?.length ? selector.names : selector.prefix ? [`${selector.prefix}host-health`] : [];
    const unhealthy: string[] = [];
    for (const entry of await readdir(this.fleetDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const health = await readFile(path.join(this.fleetDir, entry.name, 'health'), 'utf8').catch(() => 'healthy');
      if (health.trim() === 'unhealthy') unhealthy.push(entry.name);
    }
    return names.map((name) =>
      unhealthy.length > 0
        ? { name, state: 'ALARM', reason: `hosts report unhealthy: ${unhealthy.slice(0, 5).join(', ')}` }
        : { name, state: 'OK' },
    );
  }
}
