import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';

/** deployctl as a user runs it: its own process (tsx on Node 22), its own working directory. */
const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const BIN = path.join(ROOT, 'bin/deployctl.ts');
export const ENV = { ...process.env, NO_COLOR: '1', USER: 'tester' };

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one command to its end. */
export function deployctl(cwd: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(TSX, [BIN, ...args], { cwd, timeout: 120_000, env: ENV }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A command left running (deploy, watch, serve): its output so far, a wait for a line, its end. */
export interface Background {
  readonly child: ChildProcess;
  output(): string;
  waitFor(text: string | RegExp): Promise<string>;
  done: Promise<Run>;
}

/** Every command left running, to be stopped after each test whatever its outcome. */
const started = new Set<ChildProcess>();

export function stopAll(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  started.clear();
}

export function background(cwd: string, args: readonly string[]): Background {
  // Its own process group, so that a kill reaches the node process tsx starts.
  const child = spawn(TSX, [BIN, ...args], { cwd, env: ENV, detached: true });
  started.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: { test: (s: string) => boolean; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.test(stdout + stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(stdout + stderr);
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    check();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return {
    child,
    output: () => stdout + stderr,
    waitFor: (text) =>
      Promise.race([
        new Promise<string>((resolve) => {
          const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
          waiters.push({ test, resolve });
          check();
        }),
        done.then((run) => {
          throw new Error(`the command ended (exit ${run.code}) before printing ${String(text)}:\n${run.stdout}${run.stderr}`);
        }),
      ]),
    done,
  };
}

export const json = <T = Record<string, unknown>>(run: Run): T => JSON.parse(run.stdout) as T;

/** One test's own corner of local mode: a state folder (fleet, runs, inbox) and a table of the run's DynamoDB Local. */
export interface Scenario {
  /** The working directory the commands run in (shared by the tests of a file). */
  readonly cwd: string;
  /** The state folder, relative to cwd. */
  readonly dir: string;
  /** The options that point a command at this scenario. */
  readonly target: readonly string[];
  /** The file holding the demo-web version a local host runs. */
  fleet(host: string): string;
  run(command: string, ...args: string[]): Promise<Run>;
  start(command: string, ...args: string[]): Background;
}

/**
 * Scenarios for the tests of one file, so that no test sees another's
 * records, fleet or app+env lock: the file gets a working directory before
 * its tests (removed after them), each scenario a state folder in it and a
 * table named after the file. Commands left running are stopped after each test.
 */
export function localScenarios(name: string): () => Scenario {
  let cwd = '';
  let tables = 0;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), `deployctl-${name}-`));
  });
  afterEach(stopAll);
  afterAll(async () => {
    // A host script of a stopped command may still be writing: retry the removal.
    await rm(cwd, { recursive: true, force: true, maxRetries: 5 });
  });
  return () => {
    const n = tables++;
    const dir = `state-${n}`;
    const target = [
      '--local',
      '--state-dir',
      dir,
      '--dynamodb-endpoint',
      inject('dynamoEndpoint'),
      '--table',
      `${name}-${process.pid}-${n}`,
    ];
    return {
      cwd,
      dir,
      target,
      fleet: (host) => path.join(cwd, dir, 'fleet', host, 'opt', 'deployctl', 'demo-web', 'current'),
      run: (command, ...args) => deployctl(cwd, [command, ...args, ...target]),
      start: (command, ...args) => background(cwd, [command, ...args, ...target]),
    };
  };
}
