import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as path from 'node:path';

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
