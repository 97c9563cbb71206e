import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTIONS, type FunctionName } from '#registry';

/** The repository root. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
/** Where the generated entries go (ignored by git): inside the project, so `#` imports and node_modules resolve. */
export const GENERATED_ENTRIES_DIR = path.join(PROJECT_ROOT, '.build', 'functions');

/**
 * SDK modules the default credential chain imports lazily (`await import(...)` in
 * @aws-sdk/credential-provider-node), for credential sources a Lambda function never uses: its
 * role's credentials are in its environment, which the chain reads first. The remote sources
 * (container credentials over HTTP, EC2 instance metadata) come after it, so they are never
 * reached either. Left out of the bundle: should one ever be imported, the Node.js runtime,
 * which includes the SDK v3, provides it.
 */
export const LAZY_CREDENTIAL_MODULES = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
  '@aws-sdk/token-providers',
  '@aws-sdk/nested-clients',
] as const;

/** `validateSpec` -> `validate-spec`. */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Where the generated source imports from (it is written, never imported, here: lib/ loads no handler or adapter). */
const WIRING = '#adapters/aws/wiring/';
const HANDLERS = '#handlers/';

/**
 * The source of a function's Lambda entry, derived from its registry entry:
 * the AWS adapter of each of its ports (lambdas/adapters/aws/wiring/<port>.ts,
 * each built at module scope with its own client) given to its handler
 * factory. A function imports only its ports' adapters, so its bundle holds
 * only the SDK clients those use.
 */
export function entrySource(name: FunctionName): string {
  const spec = FUNCTIONS[name];
  const ports = [...spec.ports].sort();
  return [
    `// Generated from lambdas/registry.ts (${name}) by lib/function-entry.ts: do not edit.`,
    ...ports.map((port) => `import { ${port} } from '${WIRING}${port}.ts';`),
    `import { ${spec.factory} } from '${HANDLERS}${spec.handler}.ts';`,
    '',
    `/** Lambda entry of ${name}: its handler over the AWS adapters of its ports. */`,
    `export const handler = ${spec.factory}({ ${[...spec.ports].join(', ')} });`,
    '',
  ].join('\n');
}

/**
 * The entry file of a function: its hand-written one (lambdas/functions/<entry>.ts) when the
 * registry names one, else the generated one, (re)written only when its text changes (stable
 * mtime and asset hash; concurrent syntheses write the same text through a rename).
 */
export function entryFile(name: FunctionName): string {
  const spec = FUNCTIONS[name];
  if ('entry' in spec) return path.join(PROJECT_ROOT, 'lambdas', 'functions', `${spec.entry}.ts`);
  const file = path.join(GENERATED_ENTRIES_DIR, `${kebab(name)}.ts`);
  const source = entrySource(name);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== source) {
    mkdirSync(GENERATED_ENTRIES_DIR, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, source);
    renameSync(temporary, file);
  }
  return file;
}
