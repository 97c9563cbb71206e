import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { createDeploymentService } from '#app/deployments.ts';
import { createTable, localDocumentClient } from '#cli/local/dynamodb.ts';
import { synthesizeTable } from '#cli/local/synth.ts';
import { MAX_BODY_BYTES } from '#core/api-contract.ts';
import { type DeploymentSpecInput, parseSpec } from '#core/spec.ts';
import { createApi } from '#handlers/api.ts';
import type { Executions, TaskCallbacks } from '#ports';
import { FREE_TEXT, isObject, SAMPLES, unionFields } from '#test/security/spec-fields.ts';

/**
 * The API handler against thousands of malformed and hostile requests made by
 * fast-check: each is answered 400 (413 when too large) naming the field at
 * fault, with no stack trace, and nothing is started, answered or written:
 * the Executions and TaskCallbacks ports record every call, and the table
 * (DynamoDB Local, this file's own) is compared item by item before and after.
 */

const endpoint = inject('dynamoEndpoint');
const tableName = `api-fuzz-${randomUUID()}`;
const db = localDocumentClient(endpoint);
const calls: string[] = [];
const executions: Executions = {
  start: async (strategy, name) => {
    calls.push(`start ${strategy} ${name}`);
    return { executionArn: `arn:aws:states:us-east-1:000000000000:execution:x:${name}` };
  },
};
const callbacks: TaskCallbacks = {
  succeed: async (token) => {
    calls.push(`succeed ${token}`);
  },
  fail: async (token) => {
    calls.push(`fail ${token}`);
  },
};
const records = dynamoRecords(db, tableName);
const api = createApi(createDeploymentService({ ...records, executions, callbacks, clock: { now: () => new Date() } }));

/** A deployment waiting at its approval gate: what a control or a rollback would act on. */
const SEEDED = 'seeded-deployment';

async function scan(): Promise<unknown[]> {
  const items = (await db.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items ?? [];
  return items.sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
}

let before: unknown[];

beforeAll(async () => {
  await createTable(endpoint, tableName, synthesizeTable());
  const now = new Date();
  const spec = parseSpec({ ...(SAMPLES.at(-1) as DeploymentSpecInput), deploymentId: SEEDED });
  await records.deployments.createDeployment(SEEDED, spec, SEEDED, now);
  await records.deployments.updateDeployment(
    SEEDED,
    { status: 'RUNNING', gate: { kind: 'approval', wave: 0, token: 'seed-token', since: now.toISOString() } },
    now,
  );
  before = await scan();
  expect(before.length).toBeGreaterThan(0);
});

afterAll(async () => {
  // Nothing was started, answered or prepared, and the table is as it was.
  expect(calls).toEqual([]);
  expect(await scan()).toEqual(before);
});

function event(
  method: string,
  resource: string,
  options: { body?: string | null; base64?: boolean; id?: string; headers?: Record<string, string>; query?: Record<string, string> } = {},
): APIGatewayProxyEvent {
  const path = resource.replace('{id}', encodeURIComponent(options.id ?? ''));
  return {
    httpMethod: method,
    path,
    resource,
    pathParameters: options.id === undefined ? null : { id: options.id },
    body: options.body ?? null,
    isBase64Encoded: options.base64 ?? false,
    headers: { 'Content-Type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { path: `/v1${path}`, stage: 'v1', requestId: 'fuzz', identity: { userArn: 'arn:aws:iam::123456789012:user/fuzz' } },
  } as unknown as APIGatewayProxyEvent;
}

interface Refusal {
  readonly error: string;
  readonly message: string;
  readonly fieldErrors: { field: string; message: string }[];
}

/** The answer is a refusal with this status, in the handler's JSON error shape, with no trace of the code behind it. */
function refusal(answer: APIGatewayProxyResult, status: 400 | 413): Refusal {
  expect(answer.statusCode, answer.body.slice(0, 300)).toBe(status);
  expect(answer.headers?.['Content-Type']).toMatch(/^application\/json/);
  expect(answer.body).not.toMatch(/\n\s+at |node:internal|node_modules|\/work\/|\.ts:\d+|\bError: /);
  const body = JSON.parse(answer.body) as Refusal;
  expect(body.error).toBe(status === 413 ? 'PayloadTooLarge' : 'BadRequest');
  expect(body.fieldErrors.length).toBeGreaterThan(0);
  return body;
}

const UNIONS = new Set(unionFields());
/** `field` as a pattern of unionFields: array indices as `#`. */
const patternOf = (field: string) => field.replace(/\.\d+(?=\.|$)/g, '.#');

/** Some field error names `field`, a field under it, or the union (a count or a percentage...) it is part of. */
function names(body: Refusal, field: string): boolean {
  return body.fieldErrors.some(
    (e) => e.field === field || e.field.startsWith(`${field}.`) || (field.startsWith(`${e.field}.`) && UNIONS.has(patternOf(e.field))),
  );
}

type Path = (string | number)[];

/** Every path of a JSON value, with what is there. */
function pathsOf(value: unknown, at: Path = []): { path: Path; value: unknown }[] {
  const here = at.length > 0 ? [{ path: at, value }] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...at, i]))];
  if (isObject(value)) return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k]))];
  return here;
}

const fieldName = (path: Path) => path.map(String).join('.');

function setAt(spec: unknown, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(spec) as Record<string, unknown>;
  let parent = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  parent[path.at(-1) as string | number] = value;
  return copy;
}

/** JSON text nested `depth` levels deep, written out rather than stringified (JSON.stringify recurses). */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}"x"${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
}

/** Stands for a deeply nested value in a spec until it is written out as JSON text. */
const DEEP = '\u0000deep\u0000';

/** Records (tag filters, document parameters) take any key their key rule allows; strict objects take none. */
const isRecordPath = (path: Path) => /(^|\.)(tags|parameters)$/.test(fieldName(path));
const isFreeText = (path: Path) => FREE_TEXT.some((entry) => entry.field.test(fieldName(path)));

/** Not a page size the listing takes (it reads the query parameter as a number, as `Number` does). */
const notALimit = (text: string) => text.trim() === '' || !Number.isInteger(Number(text)) || Number(text) < 1 || Number(text) > 100;

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf'];
const METACHARACTER_VALUES = [
  '1.0; reboot',
  '$(reboot)',
  '`reboot`',
  'a|b',
  'a&&b',
  'a\nb',
  "a'b",
  'a"b',
  '../../etc/passwd',
  'a\0b',
  '\u202eabc',
  'a b',
];

/** A valid spec made invalid in one place, and the field the refusal must name. */
interface Corrupted {
  readonly spec: Record<string, unknown>;
  readonly field: string;
  readonly what: string;
  /** Written in place of the DEEP marker. */
  readonly deep?: string;
}

const corrupted: fc.Arbitrary<Corrupted> = fc.constantFrom(...SAMPLES).chain((sample) => {
  const all = pathsOf(sample);
  const objects = all.filter((p) => isObject(p.value));
  const arrays = all.filter((p) => Array.isArray(p.value));
  const strings = all.filter((p) => typeof p.value === 'string');
  const wrongType = fc
    .constantFrom(...all)
    .chain(({ path, value }) =>
      fc
        .constantFrom<unknown>(null, true, false, ...(isObject(value) ? [42, 'text', ['x']] : [{}, { nested: { deeper: 1 } }]))
        .map((bad) => ({ spec: setAt(sample, path, bad), field: fieldName(path), what: `wrong type ${JSON.stringify(bad)}` })),
    );
  const missing = fc.constantFrom('app', 'environment', 'version', 'targets').map((key) => {
    const { [key]: _dropped, ...rest } = sample as Record<string, unknown>;
    return { spec: rest, field: key, what: 'missing' };
  });
  const extraKey = fc
    .tuple(
      fc.constantFrom({ path: [] as Path, value: sample as unknown }, ...objects),
      fc.constantFrom(...PROTOTYPE_KEYS),
      fc.constantFrom<unknown>({ polluted: true }, 'x', 1, null, [{}]),
    )
    .filter(([{ path }, key]) => !isRecordPath(path) || key === '__proto__')
    .map(([{ path, value }, key, extra]) => {
      const object = structuredClone(value) as Record<string, unknown>;
      Object.defineProperty(object, key, { value: extra, enumerable: true, writable: true, configurable: true });
      const spec = path.length === 0 ? object : setAt(sample, path, object);
      // An unknown key is the object's fault; __proto__ is refused where it is.
      const field = key === '__proto__' ? fieldName([...path, key]) : path.length === 0 ? '(spec)' : fieldName(path);
      return { spec, field, what: `extra key ${key}` };
    });
  const oversize = fc
    .tuple(fc.constantFrom(...strings), fc.integer({ min: 4097, max: 40_000 }), fc.constantFrom('a', '9', ';'))
    .map(([{ path }, length, char]) => ({
      spec: setAt(sample, path, char.repeat(length)),
      field: fieldName(path),
      what: `${length} characters`,
    }));
  const restricted = strings.filter((p) => !isFreeText(p.path));
  const metacharacters = fc
    .tuple(fc.constantFrom(...restricted), fc.constantFrom(...METACHARACTER_VALUES))
    .map(([{ path }, bad]) => ({ spec: setAt(sample, path, bad), field: fieldName(path), what: JSON.stringify(bad) }));
  const deep = fc
    .tuple(fc.constantFrom(...all), fc.integer({ min: 50, max: 3000 }), fc.constantFrom<'array' | 'object'>('array', 'object'))
    .map(([{ path }, depth, kind]) => ({
      spec: setAt(sample, path, DEEP),
      deep: nested(depth, kind),
      field: fieldName(path),
      what: `${kind}s ${depth} deep`,
    }));
  // Past every array's limit; instance ids (20,000) only fit past the size limit, and a region wave has no limit of its own.
  const bounded = arrays.filter((p) => !/instanceIds$|^regionWaves\.\d+$/.test(fieldName(p.path)) && (p.value as unknown[]).length > 0);
  const huge = bounded.length
    ? [
        fc.tuple(fc.constantFrom(...bounded), fc.integer({ min: 1001, max: 1500 })).map(([{ path, value }, count]) => ({
          spec: setAt(sample, path, Array(count).fill((value as unknown[])[0])),
          field: fieldName(path),
          what: `${count} items`,
        })),
      ]
    : [];
  return fc.oneof(wrongType, missing, extraKey, oversize, metacharacters, deep, ...huge).map((c) => ({
    ...c,
    // fast-check prints a failing case: a short description, not a spec nested thousands deep.
    [fc.toStringMethod]: () => `${c.what} at ${c.field}`,
  }));
});

describe('POST /deployments against malformed and hostile specs', () => {
  it('answers every spec made invalid in one place with 400 naming that field', async () => {
    await fc.assert(
      fc.asyncProperty(corrupted, async ({ spec, field, what, deep }) => {
        const body = deep ? JSON.stringify(spec).replace(JSON.stringify(DEEP), deep) : JSON.stringify(spec);
        fc.pre(Buffer.byteLength(body) <= MAX_BODY_BYTES);
        const answer = refusal(await api(event('POST', '/deployments', { body })), 400);
        expect(names(answer, field), `${what} at ${field}: ${JSON.stringify(answer.fieldErrors).slice(0, 300)}`).toBe(true);
      }),
      { numRuns: 800 },
    );
  });

  it('answers every body that is not a JSON object with 400 naming the body', async () => {
    const notJson = fc.string({ maxLength: 200 }).filter((text) => {
      try {
        const value: unknown = JSON.parse(text);
        return !isObject(value);
      } catch {
        return true;
      }
    });
    const truncated = fc
      .tuple(fc.constantFrom(...SAMPLES), fc.nat())
      .map(([sample, cut]) => {
        const text = JSON.stringify(sample);
        return text.slice(0, cut % text.length);
      })
      .filter((text) => text.length > 0);
    const nonObjects = fc
      .oneof(
        fc.jsonValue().filter((v) => !isObject(v)),
        fc.array(fc.constantFrom(...SAMPLES)),
      )
      .map((v) => JSON.stringify(v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(notJson, truncated, nonObjects), fc.boolean(), async (text, base64) => {
        const body = base64 ? Buffer.from(text).toString('base64') : text;
        const answer = refusal(await api(event('POST', '/deployments', { body, base64 })), 400);
        expect(answer.fieldErrors.map((e) => e.field)).toEqual(['(body)']);
      }),
      { numRuns: 300 },
    );
  });

  it(`answers every body larger than ${MAX_BODY_BYTES} bytes with 413, before reading it`, async () => {
    const sample = SAMPLES.at(-1) as DeploymentSpecInput;
    const large = fc.oneof(
      fc.integer({ min: MAX_BODY_BYTES, max: 4 * MAX_BODY_BYTES }).map((n) => JSON.stringify({ ...sample, requestedBy: 'x'.repeat(n) })),
      fc.integer({ min: 20_001, max: 25_000 }).map((n) =>
        JSON.stringify({
          ...sample,
          targets: { instanceIds: Array.from({ length: n }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`) },
        }),
      ),
      fc.integer({ min: MAX_BODY_BYTES / 2 + 1, max: MAX_BODY_BYTES }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
      fc.integer({ min: MAX_BODY_BYTES + 1, max: 2 * MAX_BODY_BYTES }).map((n) => '{'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(large, fc.boolean(), async (text, base64) => {
        const body = base64 ? Buffer.from(text).toString('base64') : text;
        const answer = refusal(await api(event('POST', '/deployments', { body, base64 })), 413);
        expect(answer.fieldErrors.map((e) => e.field)).toEqual(['(body)']);
      }),
      { numRuns: 20 },
    );
  });

  it('answers a hostile Idempotency-Key header with 400 naming the header', async () => {
    const sample = SAMPLES.at(-1) as DeploymentSpecInput;
    const { deploymentId: _none, ...spec } = sample;
    const key = fc
      .oneof(fc.constantFrom(...METACHARACTER_VALUES, '', 'x'.repeat(81)), fc.string({ minLength: 1, maxLength: 100 }))
      .filter((k) => !/^[A-Za-z0-9_-]{1,80}$/.test(k));
    await fc.assert(
      fc.asyncProperty(key, async (idempotencyKey) => {
        const answer = refusal(
          await api(event('POST', '/deployments', { body: JSON.stringify(spec), headers: { 'Idempotency-Key': idempotencyKey } })),
          400,
        );
        expect(answer.fieldErrors.map((e) => e.field)).toEqual(['Idempotency-Key']);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the controls, the rollback and the listing against hostile input', () => {
  const badId = fc
    .oneof(fc.constantFrom(...METACHARACTER_VALUES, 'x'.repeat(81), '..', '%00'), fc.string({ minLength: 1, maxLength: 120 }))
    .filter((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id));

  it('answers a deployment id that is not one with 400 naming the id, on every route that takes one', async () => {
    const routes = [
      '/deployments/{id}',
      '/deployments/{id}/logs',
      '/deployments/{id}/approve',
      '/deployments/{id}/abort',
      '/deployments/{id}/rollback',
    ];
    await fc.assert(
      fc.asyncProperty(badId, fc.constantFrom(...routes), async (id, resource) => {
        const method = resource === '/deployments/{id}' || resource.endsWith('/logs') ? 'GET' : 'POST';
        const answer = refusal(await api(event(method, resource, { id, body: '{}' })), 400);
        expect(answer.fieldErrors.map((e) => e.field)).toEqual(['id']);
      }),
      { numRuns: 150 },
    );
  });

  it('answers a control body other than an optional comment with 400 naming the field, and leaves the waiting gate alone', async () => {
    const bad = fc.oneof(
      fc.constantFrom(...PROTOTYPE_KEYS, 'action', 'by', 'deploymentId', 'token').map((key) => {
        const body: Record<string, unknown> = {};
        Object.defineProperty(body, key, { value: 'x', enumerable: true });
        return { body, field: key === '__proto__' ? '__proto__' : '(spec)' };
      }),
      fc
        .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object())
        .map((comment) => ({ body: { comment }, field: 'comment' })),
      fc.integer({ min: 1025, max: 20_000 }).map((n) => ({ body: { comment: 'c'.repeat(n) }, field: 'comment' })),
    );
    const actions = ['approve', 'reject', 'abort', 'pause', 'resume'];
    await fc.assert(
      fc.asyncProperty(bad, fc.constantFrom(...actions), async ({ body, field }, action) => {
        const answer = refusal(await api(event('POST', `/deployments/{id}/${action}`, { id: SEEDED, body: JSON.stringify(body) })), 400);
        expect(names(answer, field), JSON.stringify(answer.fieldErrors)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('answers a rollback body other than an optional emergency flag with 400 naming the field', async () => {
    const bad = fc.oneof(
      fc
        .oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.boolean()))
        .map((emergency) => ({ body: { emergency }, field: 'emergency' })),
      fc.constantFrom(...PROTOTYPE_KEYS, 'version', 'requestedBy').map((key) => {
        const body: Record<string, unknown> = {};
        Object.defineProperty(body, key, { value: true, enumerable: true });
        return { body, field: key === '__proto__' ? '__proto__' : '(spec)' };
      }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ({ body, field }) => {
        const answer = refusal(await api(event('POST', '/deployments/{id}/rollback', { id: SEEDED, body: JSON.stringify(body) })), 400);
        expect(names(answer, field), JSON.stringify(answer.fieldErrors)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('answers a listing with a hostile app, env or limit with 400 naming the parameter', async () => {
    const query = fc.oneof(
      fc.constantFrom(...METACHARACTER_VALUES).map((app) => ({ query: { app, env: 'prod' }, field: 'app' })),
      fc.constantFrom(...METACHARACTER_VALUES).map((env) => ({ query: { app: 'web', env }, field: 'env' })),
      fc
        .oneof(fc.constantFrom('0', '-1', '101', '1.5', 'NaN', '', '1e9', '$(reboot)'), fc.string().filter(notALimit))
        .map((limit) => ({ query: { limit }, field: 'limit' })),
    );
    await fc.assert(
      fc.asyncProperty(query, async ({ query, field }) => {
        const answer = refusal(await api(event('GET', '/deployments', { query })), 400);
        expect(answer.fieldErrors.map((e) => e.field)).toEqual([field]);
      }),
      { numRuns: 100 },
    );
  });
});
