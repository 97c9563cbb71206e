import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SynthesizedOrchestrator } from '#cli/local/synth.ts';
import {
  type Codec,
  cachedSynthesis,
  DEFAULT_SYNTHESIS_CACHE,
  multiRegionCodec,
  orchestratorCodec,
  type SynthesisCache,
  sourceFiles,
  sourceHash,
} from '#cli/local/synth-cache.ts';

/**
 * The synthesis cache of local mode: a result is read back only for the very
 * sources it was synthesized from. Sources here are files in a folder of the
 * test's own, the synthesis a counter.
 */

/** A time before the test's files were written: what the files' mtimes are set to, so that results may be kept. */
const PAST = new Date(Date.now() - 60_000);

const counted: Codec<{ n: number }> = {
  encode: (value) => value,
  decode: (json) => z.object({ n: z.number() }).parse(json),
};

describe('cachedSynthesis', () => {
  let root: string;
  let cache: SynthesisCache;
  let synthesized: number;
  const synthesize = () => ({ n: ++synthesized });
  const run = (options: SynthesisCache = cache) => cachedSynthesis('stack', counted, synthesize, options);

  /** Writes a source file as if it had been there before the process started. */
  const source = (relative: string, content: string) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    utimesSync(file, PAST, PAST);
  };
  const kept = () => readdirSync(cache.dir);

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'deployctl-synth-cache-'));
    synthesized = 0;
    source('lib/stack.ts', 'export const tableName = "a";');
    source('lib/parts/queue.ts', 'export const queue = 1;');
    source('cdk.json', '{}');
    cache = { root, sources: ['lib', 'cdk.json', 'not-there.ts'], dir: path.join(root, 'cache'), loadedAt: Date.now() };
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('keeps a synthesis on disk and gives it back for unchanged sources without synthesizing again', async () => {
    const first = await run();
    const second = await run();

    expect(first).toEqual({ n: 1 });
    expect(second).toEqual({ n: 1 });
    expect(synthesized).toBe(1);
    expect(kept()).toEqual([`stack-${sourceHash(cache)}.json`]);
  });

  it('synthesizes afresh when a source file changes, and keeps only the result for the sources as they are', async () => {
    await run();

    source('lib/stack.ts', 'export const tableName = "b";');
    const changed = await run();
    const again = await run();

    expect(changed).toEqual({ n: 2 });
    expect(again).toEqual({ n: 2 });
    expect(kept()).toEqual([`stack-${sourceHash(cache)}.json`]);
    // Back to the first content: its result was dropped with the change, so it is synthesized again.
    source('lib/stack.ts', 'export const tableName = "a";');
    expect(await run()).toEqual({ n: 3 });
  });

  it('synthesizes afresh when a file is added to a source folder, removed from it or renamed in it', async () => {
    await run();

    source('lib/parts/topic.ts', 'export const topic = 1;');
    expect(await run()).toEqual({ n: 2 });
    rmSync(path.join(root, 'lib/parts/topic.ts'));
    source('lib/parts/topic2.ts', 'export const topic = 1;');
    expect(await run()).toEqual({ n: 3 });
    rmSync(path.join(root, 'lib/parts/topic2.ts'));
    expect(await run()).toEqual({ n: 4 });
    expect(await run()).toEqual({ n: 4 });
  });

  it('synthesizes afresh when the CDK context in the environment changes', async () => {
    const before = process.env.CDK_CONTEXT_JSON;
    try {
      await run();
      process.env.CDK_CONTEXT_JSON = '{"@aws-cdk/core:newStyleStackSynthesis":true}';

      expect(await run()).toEqual({ n: 2 });
    } finally {
      if (before === undefined) delete process.env.CDK_CONTEXT_JSON;
      else process.env.CDK_CONTEXT_JSON = before;
    }
  });

  it('does not keep a result when a source changed after the process started loading its modules', async () => {
    // The process "started" before the sources were last written: the code it loaded may be older than the files hashed.
    const editedSince = { ...cache, loadedAt: PAST.getTime() - 1000 };

    expect(await run(editedSince)).toEqual({ n: 1 });
    expect(await run(editedSince)).toEqual({ n: 2 });
    expect(readdirSync(root)).not.toContain('cache');
  });

  it('synthesizes afresh when the kept result is cut short or of another shape', async () => {
    await run();
    const file = path.join(cache.dir, `stack-${sourceHash(cache)}.json`);

    writeFileSync(file, '{"n":');
    expect(await run()).toEqual({ n: 2 });
    writeFileSync(file, '{"definitions":{}}');
    expect(await run()).toEqual({ n: 3 });
    expect(await run()).toEqual({ n: 3 });
  });

  it('still answers when the cache folder cannot be written, synthesizing each time', async () => {
    source('cache', 'a file where the folder should be');

    expect(await run()).toEqual({ n: 1 });
    expect(await run()).toEqual({ n: 2 });
  });
});

describe('the orchestrator synthesis cache', () => {
  const synthesized: SynthesizedOrchestrator = {
    definitions: {
      rolling: { StartAt: 'Validate', States: { Validate: { Type: 'Task', Resource: 'arn:aws:lambda:x', End: true } } },
    } as unknown as SynthesizedOrchestrator['definitions'],
    handlerByArn: new Map([
      ['arn:aws:lambda:us-east-1:000000000000:function:deployctl-validateSpec', 'validateSpec'],
      ['arn:aws:lambda:us-east-1:000000000000:function:deployctl-planWaves', 'planWaves'],
    ]),
    table: {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      GlobalSecondaryIndexes: [{ IndexName: 'byApp', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], Projection: {} }],
      BillingMode: 'PAY_PER_REQUEST',
    } as SynthesizedOrchestrator['table'],
  };

  it('gives back the definitions, the function bindings and the table as they were synthesized', () => {
    const read = orchestratorCodec.decode(JSON.parse(JSON.stringify(orchestratorCodec.encode(synthesized))));

    expect(read).toEqual(synthesized);
    expect(read.handlerByArn.get('arn:aws:lambda:us-east-1:000000000000:function:deployctl-planWaves')).toBe('planWaves');
    expect(() => orchestratorCodec.decode({ ...synthesized, handlerByArn: {} })).toThrow();
  });

  it('gives back the fan-out machine of a multi-region synthesis with its function bindings', () => {
    const multiRegion = {
      orchestrator: synthesized,
      fanOut: {
        definition: {
          StartAt: 'Start',
          States: { Start: { Type: 'Succeed' } },
        } as unknown as SynthesizedOrchestrator['definitions']['rolling'],
        handlerByArn: new Map([['arn:aws:lambda:us-east-1:000000000000:function:deployctl-startFanOut', 'startFanOut' as const]]),
      },
    };

    const read = multiRegionCodec.decode(JSON.parse(JSON.stringify(multiRegionCodec.encode(multiRegion))));

    expect(read).toEqual(multiRegion);
    expect(read.orchestrator.handlerByArn).toBeInstanceOf(Map);
    expect(read.fanOut.handlerByArn.get('arn:aws:lambda:us-east-1:000000000000:function:deployctl-startFanOut')).toBe('startFanOut');
  });

  it('hashes every project file the stack synthesis imports, and the files it reads', async () => {
    const { root, sources } = DEFAULT_SYNTHESIS_CACHE;
    const hashed = sourceFiles(root, sources);
    const graph = await build({
      entryPoints: [path.join(root, 'cli/local/synth.ts')],
      absWorkingDir: root,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const imported = Object.keys(graph.metafile.inputs);

    expect(imported).toEqual(expect.arrayContaining(['cli/local/synth.ts', 'lib/regional-stack.ts']));
    expect(imported.filter((file) => !hashed.includes(file))).toEqual([]);
    expect(hashed).toEqual(
      expect.arrayContaining([
        'cli/local/synth.ts',
        'documents/deploy-application.sh',
        'bin/app.ts',
        'cdk.json',
        'package-lock.json',
        'node_modules/aws-cdk-lib/package.json',
      ]),
    );
  });
});
