import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { bundlesTable, withBundlesSection } from '#bench/bundles.ts';
import { entryFile, entrySource, PROJECT_ROOT } from '#lib/function-entry.ts';
import { FUNCTIONS, type FunctionName, type FunctionSpec } from '#registry';

const NAMES = Object.keys(FUNCTIONS) as FunctionName[];
const WIRING = path.join(PROJECT_ROOT, 'lambdas', 'adapters', 'aws', 'wiring');
const spec = (name: FunctionName): FunctionSpec => FUNCTIONS[name];

describe('the function entries', () => {
  it.each(NAMES)('%s has an entry file that exports its handler', (name) => {
    const file = entryFile(name);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(/^export const handler = /m);
  });

  it.each(NAMES.filter((name) => !('entry' in FUNCTIONS[name])))(
    '%s has a generated entry that imports exactly the AWS adapters of its registry ports and its handler factory',
    (name) => {
      const source = entrySource(name);
      const imports = [...source.matchAll(/^import \{ (\w+) \} from '([^']+)';$/gm)].map(([, what, from]) => ({ what, from }));
      const { ports, factory, handler } = spec(name);
      expect(imports.filter((i) => i.from?.startsWith('#adapters/')).map((i) => i.what)).toEqual([...ports].sort());
      for (const port of ports) expect(imports).toContainEqual({ what: port, from: `#adapters/aws/wiring/${port}.ts` });
      expect(imports).toContainEqual({ what: factory, from: `#handlers/${handler}.ts` });
      expect(imports).toHaveLength(ports.length + 1);
      expect(source).toContain(`export const handler = ${factory}({ ${ports.join(', ')} });`);
    },
  );

  it('has every entry type-check: each factory gets the ports it asks for, over the adapters its entry wires', () => {
    const config = ts.readConfigFile(path.join(PROJECT_ROOT, 'tsconfig.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, PROJECT_ROOT);
    const program = ts.createProgram({ rootNames: NAMES.map(entryFile), options });
    const problems = NAMES.map(entryFile).flatMap((file) =>
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(file))
        .map((d) => `${path.relative(PROJECT_ROOT, file)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
    );
    expect(problems).toEqual([]);
  }, 60_000);

  it('has an AWS adapter module for every port a registry entry names', () => {
    const ports = new Set(NAMES.flatMap((name) => spec(name).ports));
    for (const port of ports) expect(existsSync(path.join(WIRING, `${port}.ts`)), port).toBe(true);
  });

  it('keeps no hand-written entry in lambdas/functions that no registry entry names', () => {
    const named = new Set(NAMES.flatMap((name) => (spec(name).entry ? [`${spec(name).entry}.ts`] : [])));
    expect(readdirSync(path.join(PROJECT_ROOT, 'lambdas', 'functions')).sort()).toEqual([...named].sort());
  });

  it.each(NAMES)('%s loads the factory its registry entry names', async (name) => {
    const module = (await import(`#handlers/${spec(name).handler}.ts`)) as Record<string, unknown>;
    expect(typeof module[spec(name).factory]).toBe('function');
    expect(await spec(name).load()).toBe(module[spec(name).factory]);
  });

  it('writes a generated entry only when its text changes, so its bundle and asset hash stay the same', () => {
    const file = entryFile('checkControls');
    const before = readFileSync(file, 'utf8');
    expect(entryFile('checkControls')).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(before).toBe(entrySource('checkControls'));
  });
});

describe('the bundle table of the benchmark', () => {
  const figures = [
    { name: 'small', bytes: 200 * 1024, coldImportMs: 40, largest: [{ input: 'zod', bytes: 90 * 1024 }] },
    { name: 'large', bytes: 400 * 1024, coldImportMs: 40, largest: [] },
    { name: 'slow', bytes: 200 * 1024, coldImportMs: 80, largest: [] },
  ];

  it('marks each function within or beyond the size and cold import targets', () => {
    const rows = bundlesTable(figures).split('\n').slice(2);
    expect(rows[0]).toBe('| small | 204,800 | 40.0 |  | yes | zod 90 KB |');
    expect(rows[1]).toContain('| NO |');
    expect(rows[2]).toContain('| NO |');
  });

  it('replaces the bundles section of the results and keeps the sections around it', () => {
    const document = '# Bench\n\n## Runs\n\nruns\n\n## Function bundles\n\nold\n\n## Cost by line\n\ncost\n';
    const updated = withBundlesSection(document, '## Function bundles\n\nnew\n');
    expect(updated).toBe('# Bench\n\n## Runs\n\nruns\n\n## Function bundles\n\nnew\n\n## Cost by line\n\ncost\n');
    expect(withBundlesSection('# Bench\n', '## Function bundles\n\nnew\n')).toBe('# Bench\n\n## Function bundles\n\nnew\n');
  });
});
