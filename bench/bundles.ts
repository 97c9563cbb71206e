/**
 * Every Lambda function's bundle size and cold import time: `npx tsx bench/bundles.ts`
 * alone, or as a table of `npm run bench`. Bundles each entry as lib/orchestrator-function.ts
 * does (esbuild, ESM, node22, minified), all at once with esbuild's JS API, then imports each
 * bundle in a fresh `node` process and keeps the median of a few runs. The bundles are written
 * inside the project, so a module left out of them resolves from node_modules, as the Lambda
 * runtime resolves its own copy.
 *
 * `npx tsx bench/bundles.ts --sdk-external` measures the alternative lib/orchestrator-function.ts
 * does not take, NodejsFunction's default of leaving `@aws-sdk/*` to the runtime (the SDK then
 * loads from node_modules at import), and prints the table without writing bench/results.md.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { entryFile, LAZY_CREDENTIAL_MODULES } from '#lib/function-entry.ts';
import { FUNCTIONS, type FunctionName } from '#registry';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

/** The esbuild options lib/orchestrator-function.ts gives NodejsFunction, as the JS API spells them. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'] as string[],
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  external: [...LAZY_CREDENTIAL_MODULES] as string[],
} as const;

/** What NodejsFunction leaves out of the bundle by default on Node.js 18+ runtimes (the runtime includes SDK v3). */
export const SDK_EXTERNAL = ['@aws-sdk/*'] as const;

/** Placeholders for the variables each function's module scope reads (and checks) at cold start. */
export const BENCH_ENV: Readonly<Record<string, string>> = {
  TABLE_NAME: 'deployctl-bench',
  EVENT_BUS_NAME: 'default',
  AWS_REGION: 'eu-west-1',
  STATE_MACHINE_ARNS: JSON.stringify({ rolling: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bench-rolling' }),
  PIPELINES: '{}',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  // As lib/orchestrator-function.ts sets it: Node reads the bundle's source map when it loads the bundle.
  NODE_OPTIONS: '--enable-source-maps',
};

/** One function's figures. */
export interface BundleFigures {
  readonly name: string;
  /** Minified bytes of the bundle (without its source map). */
  readonly bytes: number;
  /** Median milliseconds of `await import(bundle)` in a fresh node process. */
  readonly coldImportMs: number;
  /** Median CPU milliseconds (user + system) of that import: what a busy machine inflates least. */
  readonly coldImportCpuMs?: number;
  /** The largest inputs of the bundle, by bytes in the output. */
  readonly largest: readonly { readonly input: string; readonly bytes: number }[];
}

/** An entry file to bundle, by function name. */
export interface BundleEntry {
  readonly name: string;
  readonly entry: string;
}

/** Every function of the registry with its entry file (generated from the registry, or its own). */
export function functionEntries(): BundleEntry[] {
  return (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => ({ name, entry: entryFile(name) }));
}

function largestInputs(metafile: Metafile, top: number): BundleFigures['largest'] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = match?.[1] ?? input;
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([input, bytes]) => ({ input, bytes }));
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function coldImport(file: string, runs: number): Promise<{ wallMs: number; cpuMs: number }> {
  const script = [
    'const c = process.cpuUsage(); const t = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const u = process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify([performance.now() - t, (u.user + u.system) / 1000]));',
  ].join(' ');
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...BENCH_ENV } });
    const [wallMs, cpuMs] = JSON.parse(stdout) as [number, number];
    wall.push(wallMs);
    cpu.push(cpuMs);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

/**
 * Bundles every entry (in parallel), then times a cold import of each (one at a time, `runs` times).
 * `external`: modules left out besides BUNDLE_OPTIONS' (they load from node_modules at import).
 */
export async function measureBundles(
  entries: readonly BundleEntry[],
  runs = 5,
  external: readonly string[] = [],
): Promise<BundleFigures[]> {
  await mkdir(path.join(ROOT, '.build'), { recursive: true });
  const out = await mkdtemp(path.join(ROOT, '.build', 'bundles-'));
  try {
    const built = await Promise.all(
      entries.map(async ({ name, entry }) => {
        const outfile = path.join(out, `${name}.mjs`);
        const result = await build({
          ...BUNDLE_OPTIONS,
          external: [...BUNDLE_OPTIONS.external, ...external],
          entryPoints: [entry],
          outfile,
          metafile: true,
          absWorkingDir: ROOT,
          logLevel: 'error',
        });
        const metafile = result.metafile ?? { inputs: {}, outputs: {} };
        const bytes = Object.entries(metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1].bytes ?? 0;
        return { name, outfile, bytes, largest: largestInputs(metafile, 3) };
      }),
    );
    const figures: BundleFigures[] = [];
    for (const b of built) {
      const { wallMs, cpuMs } = await coldImport(b.outfile, runs);
      figures.push({ name: b.name, bytes: b.bytes, coldImportMs: wallMs, coldImportCpuMs: cpuMs, largest: b.largest });
    }
    return figures;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** The figures as a Markdown table, checked against the targets (350 KB, 60 ms). */
export function bundlesTable(figures: readonly BundleFigures[], targets = { bytes: 350 * 1024, ms: 60 }): string {
  const rows = figures.map((f) => {
    const ok = f.bytes <= targets.bytes && f.coldImportMs <= targets.ms ? 'yes' : 'NO';
    const largest = f.largest.map((l) => `${l.input} ${kb(l.bytes)}`).join(', ');
    const cpu = f.coldImportCpuMs === undefined ? '' : f.coldImportCpuMs.toFixed(1);
    return `| ${f.name} | ${f.bytes.toLocaleString('en-US')} | ${f.coldImportMs.toFixed(1)} | ${cpu} | ${ok} | ${largest} |`;
  });
  return [
    `| function | bundle (B, minified) | cold import (ms, median) | its CPU (ms) | within ${kb(targets.bytes)} / ${targets.ms} ms | largest inputs |`,
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The "Function bundles" section of bench/results.md. */
export function bundlesSection(figures: readonly BundleFigures[], runs = 5): string {
  return `## Function bundles

Each function of lambdas/registry.ts bundled as lib/orchestrator-function.ts bundles it (esbuild: ESM, node22, minified, the SDK
inside, a source map beside it; its entry wires only the AWS adapters of its ports), then imported in a fresh \`node\` process with
\`--enable-source-maps\` as deployed (${runs} times, the median; module scope creates the SDK clients and reads the configuration), with the CPU time of that import beside it (a busy machine stretches
the wall time more than the CPU time; the targets apply to the wall time). Load average ${loadavg()[0]?.toFixed(1)} before. Written by \`npm run bench\`, or alone by \`npx tsx bench/bundles.ts\`.

${bundlesTable(figures)}
`;
}

/** Replaces (or appends) the "Function bundles" section of a results document. */
export function withBundlesSection(document: string, section: string): string {
  const start = document.indexOf('## Function bundles');
  if (start < 0) return `${document.trimEnd()}\n\n${section}`;
  const next = document.indexOf('\n## ', start + 1);
  return `${document.slice(0, start)}${section}${next < 0 ? '' : `\n${document.slice(next + 1)}`}`;
}

// `npx tsx bench/bundles.ts`: measure, print, and update the section of bench/results.md.
if (import.meta.filename === process.argv[1] && process.argv.includes('--sdk-external')) {
  console.log(bundlesTable(await measureBundles(functionEntries(), 5, SDK_EXTERNAL)));
} else if (import.meta.filename === process.argv[1]) {
  const figures = await measureBundles(functionEntries());
  const section = bundlesSection(figures);
  const results = path.join(import.meta.dirname, 'results.md');
  await writeFile(results, withBundlesSection(await readFile(results, 'utf8'), section));
  console.log(section);
}
