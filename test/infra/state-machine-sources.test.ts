import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CLASS_NAMES, FAIL_STATE_NAMES } from '#core/errors.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = path.join(ROOT, 'statemachines');

/** Every source file of statemachines/, with its text. */
const SOURCES: [string, string][] = readdirSync(DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => [file, readFileSync(path.join(DIR, file), 'utf8')]);

/** Each import or re-export of a file: its specifier and whether it is type-only. */
function importsOf(text: string): { from: string; typeOnly: boolean }[] {
  return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((m) => ({
    from: m[2] ?? '',
    typeOnly: Boolean(m[1]),
  }));
}

/** Where an import points: a package, or a path relative to the repository root. */
function target(file: string, from: string): string {
  if (from.startsWith('.')) return path.relative(ROOT, path.resolve(path.dirname(path.join(DIR, file)), from));
  const alias = from.match(/^#(core|statemachines|registry|ports|lib|app|handlers|adapters|commons|functions|cli|bench|test)\b/)?.[1];
  if (alias === 'core') return `lambdas/core/${from.slice('#core/'.length)}`;
  if (alias === 'registry') return 'lambdas/registry.ts';
  if (alias === 'ports') return 'lambdas/ports.ts';
  if (alias === 'statemachines') return `statemachines/${from.slice('#statemachines/'.length)}`;
  return alias ? `#${alias}` : from;
}

describe('the state machine sources', () => {
  it('are found', () => {
    expect(SOURCES.map(([file]) => file)).toContain('fan-out.ts');
  });

  it.each(SOURCES)('%s imports from lambdas/ only core/ and the types of registry.ts and ports.ts, and nothing from lib/', (file, text) => {
    for (const { from, typeOnly } of importsOf(text)) {
      const to = target(file, from);
      const allowed =
        to.startsWith('aws-cdk-lib') ||
        to === 'constructs' ||
        to.startsWith('statemachines/') ||
        to.startsWith('lambdas/core/') ||
        (typeOnly && (to === 'lambdas/registry.ts' || to === 'lambdas/ports.ts'));
      expect(allowed, `${file} imports ${from}`).toBe(true);
    }
  });

  it.each(SOURCES)('%s names no error as a string literal: every retry, catch and Fail state uses ERRORS', (file, text) => {
    const names = [...Object.keys(ERROR_CLASS_NAMES), ...Object.keys(FAIL_STATE_NAMES)];
    const literals = [...text.matchAll(/'([^'\n]*)'/g)].map((m) => m[1] ?? '');
    expect(
      literals.filter((literal) => names.includes(literal) || /^(States|Lambda)\.[A-Za-z]+$/.test(literal)),
      file,
    ).toEqual([]);
    expect(text, file).not.toMatch(/errors:\s*\[\s*'/);
    expect(text, file).not.toMatch(/\berror:\s*'/);
  });
});
