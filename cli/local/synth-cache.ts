import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { z } from 'zod';
import type { FunctionName } from '#registry';
import type { StrategyName, SynthesizedFanOut, SynthesizedOrchestrator } from './synth-types.ts';

/*
 * Synthesizing the stack (./synth.ts) costs seconds: aws-cdk-lib, the stack's
 * code, the synthesis itself, on every `deployctl --local` command that runs a
 * deployment or meets a new table. Its result depends only on the project's
 * sources, so it is kept on disk under a content hash of every source the
 * synthesis reads: the first command after a change synthesizes, the next
 * ones read the result and do not load aws-cdk-lib at all.
 */

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * What the synthesis reads, relative to the project root: the stack, the
 * state machines, the handlers and documents they bind, the synthesis code,
 * the CDK app and its settings, and the installed CDK. Folders count with
 * every file under them.
 */
export const SYNTHESIS_SOURCES: readonly string[] = [
  'lib',
  'statemachines',
  'lambdas',
  'documents',
  'bin/app.ts',
  'cdk.json',
  'package.json',
  'package-lock.json',
  'cli/local/synth.ts',
  'cli/local/synth-types.ts',
  'cli/local/synth-cache.ts',
  'node_modules/aws-cdk-lib/package.json',
  'node_modules/constructs/package.json',
];

export interface SynthesisCache {
  /** The folder the sources are relative to. */
  readonly root: string;
  readonly sources: readonly string[];
  /** Where results are kept: one file per kind, named by the sources' hash. */
  readonly dir: string;
  /**
   * When this process started loading modules (ms since the epoch): a result
   * is kept only if no source changed since, so that code loaded before the
   * hash was taken cannot differ from what the hash covers.
   * @default performance.timeOrigin
   */
  readonly loadedAt?: number;
}

export const DEFAULT_SYNTHESIS_CACHE: SynthesisCache = {
  root: ROOT,
  sources: SYNTHESIS_SOURCES,
  dir: path.join(ROOT, 'node_modules', '.cache', 'deployctl'),
};

/** Every file of the sources (folders walked, node_modules skipped), relative to root, in a stable order; missing ones are left out. */
export function sourceFiles(root: string, sources: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    const full = path.join(root, relative);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(full).isDirectory();
    } catch {
      return;
    }
    if (!isDirectory) {
      files.push(relative);
      return;
    }
    for (const entry of readdirSync(full).sort()) {
      if (entry !== 'node_modules') walk(path.posix.join(relative, entry));
    }
  };
  for (const source of sources) walk(source);
  return files;
}

/** The sources' content hash (paths and bytes) and the newest modification time among them. */
function sourceState(cache: SynthesisCache): { key: string; newest: number } {
  const hash = createHash('sha256');
  let newest = 0;
  for (const source of cache.sources) hash.update(`source ${source}\0`);
  for (const file of sourceFiles(cache.root, cache.sources)) {
    const full = path.join(cache.root, file);
    newest = Math.max(newest, statSync(full).mtimeMs);
    hash.update(`file ${file}\0`);
    hash.update(readFileSync(full));
    hash.update('\0');
  }
  // The CDK app also reads context from the environment.
  hash.update(`context ${process.env.CDK_CONTEXT_JSON ?? ''}`);
  return { key: hash.digest('hex'), newest };
}

/** The sources' content hash: the key a synthesis result is kept under. */
export function sourceHash(cache: SynthesisCache): string {
  return sourceState(cache).key;
}

/** How a result is written to the cache and read back (validated: a file of another shape is a miss). */
export interface Codec<T> {
  encode(value: T): unknown;
  decode(json: unknown): T;
}

/**
 * The result of `synthesize` for the sources as they are: read from the cache
 * when it has one of this kind under their hash, else synthesized and written
 * (whole file or nothing) for the next command. A cache that cannot be read
 * or written only costs the synthesis.
 */
export async function cachedSynthesis<T>(
  kind: string,
  codec: Codec<T>,
  synthesize: () => T | Promise<T>,
  cache: SynthesisCache = DEFAULT_SYNTHESIS_CACHE,
): Promise<T> {
  const before = sourceState(cache);
  const name = `${kind}-${before.key}.json`;
  const file = path.join(cache.dir, name);
  try {
    return codec.decode(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    // Not synthesized for these sources yet (or an unreadable file): synthesize.
  }
  const value = await synthesize();
  const after = sourceState(cache);
  // A source edited while this process ran may differ from the code it loaded: use the result, do not keep it.
  if (after.key !== before.key || after.newest >= (cache.loadedAt ?? performance.timeOrigin)) return value;
  try {
    mkdirSync(cache.dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(codec.encode(value)));
    renameSync(partial, file);
    // Results for sources as they were before are never read again.
    for (const old of readdirSync(cache.dir)) {
      if (old.startsWith(`${kind}-`) && old !== name && !old.endsWith('.tmp')) rmSync(path.join(cache.dir, old), { force: true });
    }
  } catch {
    // A read-only install: synthesize on every command.
  }
  return value;
}

const KeySchema = z.array(z.looseObject({ AttributeName: z.string(), KeyType: z.string() }));
const Table = z.looseObject({
  KeySchema,
  AttributeDefinitions: z.array(z.looseObject({ AttributeName: z.string(), AttributeType: z.string() })),
  GlobalSecondaryIndexes: z
    .array(
      z.looseObject({
        IndexName: z.string(),
        KeySchema,
        Projection: z.looseObject({ ProjectionType: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});
const Definition = z.looseObject({ StartAt: z.string(), States: z.record(z.string(), z.looseObject({ Type: z.string() })) });
const Orchestrator = z.object({
  definitions: z.record(z.string(), Definition),
  handlerByArn: z.array(z.tuple([z.string(), z.string()])),
  table: Table,
});

export const tableCodec: Codec<SynthesizedOrchestrator['table']> = {
  encode: (table) => table,
  decode: (json) => Table.parse(json),
};

/** The definitions as JSON, the function bindings as [arn, handler] pairs. */
export const orchestratorCodec: Codec<SynthesizedOrchestrator> = {
  encode: (synthesized) => ({ ...synthesized, handlerByArn: [...synthesized.handlerByArn] }),
  decode: (json) => {
    const parsed = Orchestrator.parse(json);
    // Written by synthesizeOrchestrator from the sources the file name hashes: its strategies and handlers.
    return {
      definitions: parsed.definitions as Record<StrategyName, StateMachineDefinition>,
      handlerByArn: new Map(parsed.handlerByArn as [string, FunctionName][]),
      table: parsed.table,
    };
  },
};

const MultiRegion = z.object({
  orchestrator: Orchestrator,
  fanOut: z.object({ definition: Definition, handlerByArn: z.array(z.tuple([z.string(), z.string()])) }),
});

/** The control region's orchestrator as above, and the fan-out machine's definition and bindings. */
export const multiRegionCodec: Codec<{ orchestrator: SynthesizedOrchestrator; fanOut: SynthesizedFanOut }> = {
  encode: ({ orchestrator, fanOut }) => ({
    orchestrator: orchestratorCodec.encode(orchestrator),
    fanOut: { ...fanOut, handlerByArn: [...fanOut.handlerByArn] },
  }),
  decode: (json) => {
    const parsed = MultiRegion.parse(json);
    return {
      orchestrator: orchestratorCodec.decode(parsed.orchestrator),
      // Written by synthesizeMultiRegion from the sources the file name hashes: its handlers.
      fanOut: {
        definition: parsed.fanOut.definition as StateMachineDefinition,
        handlerByArn: new Map(parsed.fanOut.handlerByArn as [string, FunctionName][]),
      },
    };
  },
};

/** synthesizeTable (./synth.ts), from the cache while the sources are unchanged. */
export function cachedTable(cache?: SynthesisCache): Promise<SynthesizedOrchestrator['table']> {
  return cachedSynthesis('table', tableCodec, async () => (await import('./synth.ts')).synthesizeTable(), cache);
}

/** synthesizeOrchestrator (./synth.ts), from the cache while the sources are unchanged. */
export function cachedOrchestrator(cache?: SynthesisCache): Promise<SynthesizedOrchestrator> {
  return cachedSynthesis('orchestrator', orchestratorCodec, async () => (await import('./synth.ts')).synthesizeOrchestrator(), cache);
}

/** synthesizeMultiRegion (./synth.ts), from the cache while the sources are unchanged. */
export function cachedMultiRegion(cache?: SynthesisCache): Promise<{ orchestrator: SynthesizedOrchestrator; fanOut: SynthesizedFanOut }> {
  return cachedSynthesis('multi-region', multiRegionCodec, async () => (await import('./synth.ts')).synthesizeMultiRegion(), cache);
}
