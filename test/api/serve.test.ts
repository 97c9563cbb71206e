import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { readHosts } from '#cli/local/fleet-setup.ts';
import { type LocalApiServer, MAX_BODY_BYTES, startLocalApi } from '#cli/serve.ts';
import type { DeploymentSpecInput } from '#core/spec.ts';

/**
 * The HTTP API as a client sees it: `deployctl serve --local` (the same
 * handler as the Lambda) on a free port, over a local fleet and this run's
 * DynamoDB Local, driven with fetch.
 */

let server: LocalApiServer;
let stateDir: string;
const lines: string[] = [];

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'deployctl-api-'));
  server = await startLocalApi({
    stateDir,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `api-${randomUUID()}`,
    port: 0,
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await server?.close();
  await rm(stateDir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions
  readonly body: any;
}

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A spec for `app` in environment test, on the 12 local hosts the server makes for it; fields override. */
function spec(app: string, overrides: Partial<DeploymentSpecInput> = {}): DeploymentSpecInput {
  return {
    app,
    environment: 'test',
    version: '2.0.0',
    previousVersion: '1.0.0',
    targets: { tags: { app, environment: 'test' } },
    strategy: { type: 'rolling', batchSize: '50%' },
    ...overrides,
  };
}

const TERMINAL = ['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED'];

/** GET /deployments/{id} until the deployment has ended (polled, with a deadline). */
async function ended(id: string) {
  return vi.waitFor(
    async () => {
      const answer = await call('GET', `/deployments/${id}`);
      if (answer.status !== 200 || !TERMINAL.includes(answer.body.record.status)) throw new Error(`${id} has not ended yet`);
      return answer.body;
    },
    { timeout: 45_000, interval: 50 },
  );
}

/** GET /deployments/{id} until the deployment waits at its approval gate. */
async function atApprovalGate(id: string) {
  return vi.waitFor(
    async () => {
      const answer = await call('GET', `/deployments/${id}`);
      if (answer.body?.record?.gate?.kind !== 'approval') throw new Error(`${id} does not wait for an approval yet`);
      return answer.body;
    },
    { timeout: 30_000, interval: 50 },
  );
}

/** The version installed on each local host of `app`. */
async function versions(app: string): Promise<(string | undefined)[]> {
  const hosts = (await readHosts(server.workspace.fleetDir)).filter((h) => h.tags.app === app);
  return Promise.all(
    hosts.map((h) =>
      readFile(path.join(server.workspace.fleetDir, h.instanceId, 'opt', 'deployctl', app, 'current'), 'utf8').then(
        (s) => s.trim(),
        () => undefined,
      ),
    ),
  );
}

const eventsOf = async (id: string): Promise<{ type: string; actor: string; comment?: string }[]> =>
  (await call('GET', `/deployments/${id}/logs`)).body.events;

describe('POST /deployments', () => {
  it('answers 202 with the deployment id and links, and the deployment runs to SUCCEEDED on a local fleet made for it', async () => {
    const answer = await call('POST', '/deployments', spec('api-basic'));

    expect(answer.status).toBe(202);
    const id: string = answer.body.deploymentId;
    expect(answer.body).toMatchObject({ status: 'PENDING', started: true, strategy: 'rolling' });
    expect(answer.body.links).toMatchObject({
      self: `/deployments/${id}`,
      approve: `/deployments/${id}/approve`,
      rollback: `/deployments/${id}/rollback`,
    });
    expect(answer.headers.get('location')).toBe(`/deployments/${id}`);
    const view = await ended(id);
    expect(view.record).toMatchObject({ status: 'SUCCEEDED', hostCount: 12, succeeded: 12, failed: 0 });
    expect(view.counts).toEqual({ hosts: 12, succeeded: 12, failed: 0, rolledBack: 0, pending: 0 });
    expect(view.waves.map((w: { hosts: number }) => w.hosts)).toEqual([6, 6]);
    // The local user stands in for the IAM caller.
    expect(view.record.spec.requestedBy).toBe(`local:${userInfo().username}`);
    expect(view.record).not.toHaveProperty('pk');
    expect(await versions('api-basic')).toEqual(Array(12).fill('2.0.0'));

    const logs = await call('GET', `/deployments/${id}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body.hosts).toHaveLength(12);
    expect(logs.body.events.map((e: { type: string }) => e.type)).toContain('DeploymentRequested');
  });

  it('answers a retried request with the same deploymentId with the same deployment, and runs it once', async () => {
    const request = spec('api-retry', { deploymentId: 'api-retry-1' });
    const first = await call('POST', '/deployments', request);
    const retry = await call('POST', '/deployments', request);

    expect(first.status).toBe(202);
    expect(retry.body.deploymentId).toBe('api-retry-1');
    expect([200, 202]).toContain(retry.status);
    await ended('api-retry-1');
    const late = await call('POST', '/deployments', request);
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ deploymentId: 'api-retry-1', started: false, status: 'SUCCEEDED' });
    const types = (await eventsOf('api-retry-1')).map((e) => e.type);
    expect(types.filter((t) => t === 'DeploymentRequested')).toHaveLength(1);
    expect(types.filter((t) => t === 'LockAcquired')).toHaveLength(1);
    const listed = (await call('GET', '/deployments?limit=100')).body.items.filter(
      (r: { deploymentId: string }) => r.deploymentId === 'api-retry-1',
    );
    expect(listed).toHaveLength(1);
  });

  it('uses the Idempotency-Key header as the deployment id when the spec has none, and refuses the key for another deployment', async () => {
    const key = { 'Idempotency-Key': 'api-key-1' };
    const first = await call('POST', '/deployments', spec('api-key'), key);
    expect(first.status).toBe(202);
    expect(first.body.deploymentId).toBe('api-key-1');
    await ended('api-key-1');

    const retry = await call('POST', '/deployments', spec('api-key'), key);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ deploymentId: 'api-key-1', started: false, status: 'SUCCEEDED' });
    const other = await call('POST', '/deployments', spec('api-key', { version: '3.0.0' }), key);
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('IdTaken');
    expect((await eventsOf('api-key-1')).filter((e) => e.type === 'DeploymentRequested')).toHaveLength(1);
  });

  it('refuses an Idempotency-Key that is no deployment id, or that contradicts the spec, with 400', async () => {
    const bad = await call('POST', '/deployments', spec('api-key-bad'), { 'Idempotency-Key': 'not a valid id!' });
    expect(bad.status).toBe(400);
    expect(bad.body.fieldErrors).toEqual([{ field: 'Idempotency-Key', message: expect.stringContaining('letters, digits') }]);
    const contradicting = await call('POST', '/deployments', spec('api-key-bad', { deploymentId: 'one-id' }), {
      'Idempotency-Key': 'another-id',
    });
    expect(contradicting.status).toBe(400);
    expect(contradicting.body.fieldErrors[0].field).toBe('Idempotency-Key');
  });

  it('refuses an invalid spec with 400 naming each bad field, and starts nothing', async () => {
    const answer = await call('POST', '/deployments', {
      ...spec('api-invalid', { deploymentId: 'api-invalid-1' }),
      version: '1.0;reboot',
      strategy: { type: 'rolling', batchSize: 0 },
      gates: { approval: 'sometimes' },
    });

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'BadRequest', message: expect.stringContaining('nothing was started') });
    const fields = answer.body.fieldErrors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['version', 'strategy.batchSize', 'gates.approval']));
    expect((await call('GET', '/deployments/api-invalid-1')).status).toBe(404);
    const listed = (await call('GET', '/deployments?limit=100')).body.items.map((r: { deploymentId: string }) => r.deploymentId);
    expect(listed).not.toContain('api-invalid-1');
    expect((await readHosts(server.workspace.fleetDir)).filter((h) => h.tags.app === 'api-invalid')).toEqual([]);
  });

  it('names every missing required field of an empty spec', async () => {
    const answer = await call('POST', '/deployments', {});
    expect(answer.status).toBe(400);
    expect(answer.body.fieldErrors.map((e: { field: string }) => e.field).sort()).toEqual(['app', 'environment', 'targets', 'version']);
  });

  it('refuses malformed JSON, a body that is no object and an empty body with 400, and never shows a stack trace', async () => {
    const malformed = await call('POST', '/deployments', '{"app": "x",');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({
      error: 'BadRequest',
      fieldErrors: [{ field: '(body)', message: expect.stringMatching(/^not valid JSON/) }],
    });
    expect(JSON.stringify(malformed.body)).not.toMatch(/\n\s+at |\.ts:\d+/);
    const array = await call('POST', '/deployments', '[1, 2]');
    expect(array.status).toBe(400);
    expect(array.body.fieldErrors).toEqual([{ field: '(body)', message: 'must be a JSON object' }]);
    const empty = await call('POST', '/deployments', '');
    expect(empty.status).toBe(400);
  });

  it('refuses a body larger than the limit with 413', async () => {
    const answer = await call('POST', '/deployments', { ...spec('api-large'), changeTicket: 'x'.repeat(MAX_BODY_BYTES) });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('PayloadTooLarge');
  });

  it('refuses what a web page could send (an Origin, a foreign Host, a text/plain body), and starts nothing', async () => {
    const fromPage = await call('POST', '/deployments', spec('api-browser'), { Origin: 'https://evil.example' });
    // fetch will not set Host: a plain HTTP request does, as a rebound DNS name would.
    const rebound = await new Promise<{ status: number; body: { message: string } }>((resolve, reject) => {
      const request = httpRequest(`${server.url}/deployments`, {
        method: 'POST',
        headers: { Host: 'evil.example:8080', 'Content-Type': 'application/json' },
      });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (d: Buffer) => {
          text += d.toString();
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      });
      request.on('error', reject);
      request.end(JSON.stringify(spec('api-browser')));
    });
    const plain = await fetch(`${server.url}/deployments`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify(spec('api-browser')),
    });

    expect(fromPage.status).toBe(403);
    expect(rebound.status).toBe(403);
    expect(rebound.body.message).toContain('Host evil.example is not this machine');
    expect(plain.status).toBe(415);
    const history = await call('GET', '/deployments?app=api-browser&env=test');
    expect(history.body.items).toEqual([]);
    expect((await call('GET', '/deployments?limit=100')).body.items.map((d: { spec: { app: string } }) => d.spec.app)).not.toContain(
      'api-browser',
    );
  });
});

describe('the app+env lock and the controls', () => {
  it('answers 409 with the holder while a deployment of the same app+env waits for approval, and the approval lets it finish', async () => {
    const held = await call('POST', '/deployments', spec('api-lock', { deploymentId: 'api-lock-1', gates: { approval: 'firstWave' } }));
    expect(held.status).toBe(202);
    const waiting = await atApprovalGate('api-lock-1');
    // The gate's task token is never shown.
    expect(waiting.record.gate).toEqual({ kind: 'approval', wave: 0, since: expect.any(String) });

    const second = await call('POST', '/deployments', spec('api-lock', { deploymentId: 'api-lock-2', version: '2.1.0' }));
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: 'Locked', holder: 'api-lock-1' });
    expect((await call('GET', '/deployments/api-lock-2')).status).toBe(404);
    const early = await call('POST', '/deployments/api-lock-1/rollback');
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('RollbackRefused');

    const approved = await call('POST', '/deployments/api-lock-1/approve', { comment: 'ship it' }, { 'X-Deployctl-Caller': 'alice' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ deploymentId: 'api-lock-1', action: 'approve' });
    expect((await ended('api-lock-1')).record.status).toBe('SUCCEEDED');
    expect((await eventsOf('api-lock-1')).find((e) => e.type === 'Approved')).toMatchObject({ actor: 'local:alice', comment: 'ship it' });
    // The lock is free again.
    expect((await call('POST', '/deployments', spec('api-lock', { deploymentId: 'api-lock-3', version: '2.1.0' }))).status).toBe(202);
    expect((await ended('api-lock-3')).record.status).toBe('SUCCEEDED');
  });

  it('rejects a deployment at its approval gate: it ends FAILED with no host changed, and a second answer is refused with 409', async () => {
    await call('POST', '/deployments', spec('api-reject', { deploymentId: 'api-reject-1', gates: { approval: 'firstWave' } }));
    await atApprovalGate('api-reject-1');

    const rejected = await call('POST', '/deployments/api-reject-1/reject', { comment: 'not today' });
    expect(rejected.status).toBe(200);
    const view = await ended('api-reject-1');
    expect(view.record.status).toBe('FAILED');
    expect(view.record.reason).toContain('ApprovalRejected');
    expect(await versions('api-reject')).toEqual(Array(12).fill(undefined));
    const again = await call('POST', '/deployments/api-reject-1/approve');
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('ControlRefused');
  });

  it('aborts a deployment waiting at its approval gate, with an empty body', async () => {
    await call('POST', '/deployments', spec('api-abort', { deploymentId: 'api-abort-1', gates: { approval: 'firstWave' } }));
    await atApprovalGate('api-abort-1');

    const aborted = await call('POST', '/deployments/api-abort-1/abort');
    expect(aborted.status).toBe(200);
    expect(aborted.body.action).toBe('abort');
    const view = await ended('api-abort-1');
    expect(view.record.status).toBe('ABORTED');
    expect(view.record.reason).toContain('aborted by local:');
    expect((await eventsOf('api-abort-1')).map((e) => e.type)).toContain('AbortRequested');
  });

  it('lets one of two simultaneous approvals answer the gate and refuses the other with 409', async () => {
    const id = 'api-two-approvers';
    expect((await call('POST', '/deployments', spec('api-two', { deploymentId: id, gates: { approval: 'firstWave' } }))).status).toBe(202);
    await atApprovalGate(id);

    const answers = await Promise.all([call('POST', `/deployments/${id}/approve`, {}), call('POST', `/deployments/${id}/approve`, {})]);

    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect((await ended(id)).record.status).toBe('SUCCEEDED');
    const logs = await call('GET', `/deployments/${id}/logs`);
    expect(logs.body.events.filter((e: { type: string }) => e.type === 'Approved')).toHaveLength(1);
  });

  it('refuses a control body with unknown fields and a control of an unknown deployment', async () => {
    const unknownField = await call('POST', '/deployments/api-nothing/approve', { comment: 'ok', force: true });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error).toBe('BadRequest');
    const missing = await call('POST', '/deployments/api-nothing/approve', { comment: 'ok' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('NotFound');
  });
});

describe('POST /deployments/{id}/rollback', () => {
  it('answers 202 with a new deployment id, and the rollback puts the hosts back on the previous version', async () => {
    await call('POST', '/deployments', spec('api-rollback', { deploymentId: 'api-rollback-1' }));
    expect((await ended('api-rollback-1')).record.status).toBe('SUCCEEDED');
    expect(await versions('api-rollback')).toEqual(Array(12).fill('2.0.0'));

    const answer = await call('POST', '/deployments/api-rollback-1/rollback', undefined, { 'Idempotency-Key': 'api-rollback-1-undo' });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ deploymentId: 'api-rollback-1-undo', rollbackOf: 'api-rollback-1', started: true });
    const view = await ended('api-rollback-1-undo');
    expect(view.record.status).toBe('SUCCEEDED');
    expect(view.record.spec).toMatchObject({ version: '1.0.0', previousVersion: '2.0.0', rollbackOf: 'api-rollback-1' });
    expect(await versions('api-rollback')).toEqual(Array(12).fill('1.0.0'));
    const retried = await call('POST', '/deployments/api-rollback-1/rollback', undefined, { 'Idempotency-Key': 'api-rollback-1-undo' });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ deploymentId: 'api-rollback-1-undo', started: false, status: 'SUCCEEDED' });
  });
});

describe('GET /deployments', () => {
  it('pages through the release history of an app and environment, newest first', async () => {
    for (const version of ['1.0.0', '1.1.0']) {
      const id = `api-history-${version.replaceAll('.', '-')}`;
      // The second starts as soon as the first has ended, while the first may still be releasing its lock.
      expect((await call('POST', '/deployments', spec('api-history', { deploymentId: id, version }))).status).toBe(202);
      await ended(id);
    }
    // The release is written just after the record ends.
    await vi.waitFor(
      async () => {
        const all = await call('GET', '/deployments?app=api-history&env=test');
        if (all.body.items.length < 2) throw new Error('the second release is not written yet');
      },
      { timeout: 10_000, interval: 50 },
    );

    const first = await call('GET', '/deployments?app=api-history&env=test&limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({ deploymentId: 'api-history-1-1-0', version: '1.1.0', status: 'SUCCEEDED' });
    expect(first.body.nextToken).toEqual(expect.any(String));
    const second = await call('GET', `/deployments?app=api-history&env=test&limit=1&nextToken=${encodeURIComponent(first.body.nextToken)}`);
    expect(second.body.items.map((r: { deploymentId: string }) => r.deploymentId)).toEqual(['api-history-1-0-0']);
    const rest = second.body.nextToken
      ? (await call('GET', `/deployments?app=api-history&env=test&limit=1&nextToken=${encodeURIComponent(second.body.nextToken)}`)).body
      : { items: [] };
    expect(rest.items).toEqual([]);
  });

  it('lists every deployment newest first when neither app nor env is given, without table keys or task tokens', async () => {
    await call('POST', '/deployments', spec('api-list', { deploymentId: 'api-list-1' }));
    await ended('api-list-1');

    const answer = await call('GET', '/deployments?limit=100');
    expect(answer.status).toBe(200);
    const created = answer.body.items.map((r: { createdAt: string }) => r.createdAt);
    expect(created).toEqual([...created].sort().reverse());
    expect(answer.body.items.map((r: { deploymentId: string }) => r.deploymentId)).toContain('api-list-1');
    expect(JSON.stringify(answer.body)).not.toMatch(/"(pk|sk|token)"/);
  });

  it('refuses a nextToken it did not hand out, a missing env, and a limit out of range with 400 naming the parameter', async () => {
    const forged = Buffer.from(JSON.stringify({ pk: 'nothing' })).toString('base64url');
    for (const token of ['not-a-token!', forged]) {
      const answer = await call('GET', `/deployments?app=api-history&env=test&nextToken=${encodeURIComponent(token)}`);
      expect(answer.status, token).toBe(400);
      expect(answer.body.fieldErrors, token).toEqual([{ field: 'nextToken', message: expect.any(String) }]);
    }
    const missingEnv = await call('GET', '/deployments?app=api-history');
    expect(missingEnv.status).toBe(400);
    expect(missingEnv.body.fieldErrors).toEqual([{ field: 'env', message: expect.any(String) }]);
    const limit = await call('GET', '/deployments?limit=0');
    expect(limit.status).toBe(400);
    expect(limit.body.fieldErrors[0].field).toBe('limit');
  });
});

describe('unknown resources and methods', () => {
  it('answers 404 for an unknown deployment and an unknown path, 405 for a method a resource does not take, and 400 for a malformed id', async () => {
    const unknown = await call('GET', '/deployments/api-never-started');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'NotFound', message: expect.stringContaining('api-never-started') });
    expect((await call('GET', '/nothing/here')).status).toBe(404);
    const wrongMethod = await call('DELETE', '/deployments');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST, GET');
    const badId = await call('GET', '/deployments/not%20an%20id');
    expect(badId.status).toBe(400);
    expect(badId.body.fieldErrors[0].field).toBe('id');
  });

  it('logs one line per request with its method, path and status', async () => {
    await call('GET', '/deployments/api-logged-request');
    expect(lines.filter((line) => /^GET \/deployments\/api-logged-request -> 404 \(\d+ ms\)$/.test(line))).toHaveLength(1);
  });
});
