import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { LocalCallbacks } from '#adapters/local/callbacks.ts';
import { LocalAlarms } from '#adapters/local/fleet.ts';
import { createDeploymentService } from '#app/deployments.ts';
import type { Backend } from '#cli/backend.ts';
import * as commands from '#cli/commands.ts';
import { localDocumentClient } from '#cli/local/dynamodb.ts';
import { createLocalFleet, releaseHost, startLocalSession } from '#cli/local/session.ts';
import { parseSpec } from '#core/spec.ts';
import { createApiHandler } from '#handlers/api.ts';
import { rollingSpec } from '#test/flows/harness.ts';

/**
 * No task token in any log line or status output. A local deployment goes
 * through every path that holds a token (command waits, an approval gate
 * approved through the API, a pause and a resume) with the Powertools logger
 * at DEBUG and event logging on, as an operator would set them to debug; the
 * tokens the local runner hands out are watched as they are made.
 */

// Before any module makes its logger: the suite runs with POWERTOOLS_LOG_LEVEL=SILENT.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
});

const ID = 'log-secrets';
const tableName = `log-secrets-${randomUUID()}`;
const endpoint = inject('dynamoEndpoint');
/** Every line written to stdout or stderr while the deployment runs. */
const written: string[] = [];
/** Every task token the local runner made. */
const tokens = new Set<string>();
/** Every status output taken along the way (status --json, the API's answers, the service's views). */
const outputs: { readonly what: string; readonly text: string }[] = [];
/** The gate tokens the record held while it waited. */
const gateTokens: string[] = [];
let commandTokens: string[] = [];

const lambdaContext = {
  functionName: 'deployctl-api',
  awsRequestId: 'log-secrets',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:deployctl-api',
  getRemainingTimeInMillis: () => 29_000,
} as unknown as Context;

function apiEvent(method: string, resource: string, id: string, body?: unknown): APIGatewayProxyEvent {
  const path = resource.replace('{id}', id);
  return {
    httpMethod: method,
    path,
    resource,
    pathParameters: resource.includes('{id}') ? { id } : null,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      path: `/v1${path}`,
      stage: 'v1',
      requestId: randomUUID(),
      identity: { userArn: 'arn:aws:iam::000000000000:user/ops' },
    },
  } as unknown as APIGatewayProxyEvent;
}

beforeAll(async () => {
  const wait = LocalCallbacks.prototype.wait;
  vi.spyOn(LocalCallbacks.prototype, 'wait').mockImplementation(function (this: LocalCallbacks, token, timeoutMs) {
    tokens.add(token);
    return wait.call(this, token, timeoutMs);
  });
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }

  const spec = rollingSpec(ID, {
    deploymentId: ID,
    strategy: { type: 'rolling', batchSize: '50%' },
    gates: { alarms: {}, approval: 'firstWave' },
  });
  const fleetDir = mkdtempSync(path.join(tmpdir(), 'deployctl-log-secrets-'));
  // Host 0 (wave 1) holds its deploy until released: the pause surely arrives while wave 1 runs.
  const hosts = await createLocalFleet(fleetDir, parseSpec(spec), 4, { heldHosts: [0] });
  const { region: orchestrator } = await startLocalSession({ fleetDir, endpoint, tableName });
  const ports = {
    ...orchestrator.records,
    executions: { start: async () => Promise.reject(new Error('not started here')) },
    callbacks: orchestrator.callbacks,
    clock: orchestrator.clock,
  };
  const service = createDeploymentService(ports);
  const api = createApiHandler(ports) as unknown as (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  const backend = {
    mode: 'local',
    service,
    records: orchestrator.records,
    inventory: orchestrator.fleet,
    alarms: new LocalAlarms(fleetDir),
    close: async () => undefined,
  } as Backend;
  const statusJson = async (when: string) => {
    const lines: string[] = [];
    await commands.status(
      backend,
      { json: true, line: (text) => lines.push(text), result: (value) => lines.push(JSON.stringify(value)) },
      ID,
    );
    outputs.push({ what: `status --json ${when}`, text: lines.join('\n') });
  };
  const observe = async (when: string) => {
    const gate = (await orchestrator.records.deployments.getDeployment(ID)).gate;
    if (gate) gateTokens.push(gate.token);
    await statusJson(when);
    for (const resource of ['/deployments/{id}', '/deployments/{id}/logs', '/deployments']) {
      const answer = await api(apiEvent('GET', resource, ID), lambdaContext);
      outputs.push({ what: `GET ${resource} ${when}`, text: answer.body });
    }
    outputs.push({
      what: `service views ${when}`,
      text: JSON.stringify([await service.get(ID), await service.list(), await service.logs(ID)]),
    });
  };
  const waitFor = (check: () => Promise<boolean>, what: string) =>
    vi.waitFor(
      async () => {
        if (!(await check())) throw new Error(`not yet: ${what}`);
      },
      { timeout: 30_000, interval: 25 },
    );
  const gateIs = (kind: string) => async () =>
    (await orchestrator.records.deployments.getDeployment(ID).catch(() => undefined))?.gate?.kind === kind;
  const control = async (action: string, body: unknown = {}) => {
    const answer = await api(apiEvent('POST', `/deployments/{id}/${action}`, ID, body), lambdaContext);
    outputs.push({ what: `POST ${action}`, text: answer.body });
    expect(answer.statusCode, answer.body).toBe(200);
  };

  const running = orchestrator.execute('rolling', spec, { executionName: ID });
  await waitFor(gateIs('approval'), 'the approval gate');
  await observe('at the approval gate');
  await control('approve', { comment: 'looks fine' });
  await waitFor(async () => (await orchestrator.records.waves.getWaveCommands(ID, 0)).length > 0, 'wave 1 sent');
  await observe('while wave 1 runs');
  await control('pause');
  await releaseHost(fleetDir, hosts[0] as string);
  await waitFor(gateIs('resume'), 'the pause');
  await observe('while paused');
  await control('resume');
  const run = await running;
  await observe('at the end');
  expect(run.status).toBe('SUCCEEDED');

  const items = (await localDocumentClient(endpoint).send(new ScanCommand({ TableName: tableName }))).Items ?? [];
  commandTokens = items.filter((item) => String(item.pk).startsWith('CMD#')).map((item) => String(item.token));
}, 120_000);

afterAll(() => {
  vi.restoreAllMocks();
});

describe('task tokens of a local deployment through command waits, an approval, a pause and a resume', () => {
  it('were all seen as the runner made them: one per command wait and one per gate', () => {
    // Two waves of two hosts: two command waits; one approval gate; one resume gate.
    expect(tokens.size).toBeGreaterThanOrEqual(4);
    expect(gateTokens).toHaveLength(2);
    expect(commandTokens.length).toBeGreaterThanOrEqual(2);
    for (const token of [...gateTokens, ...commandTokens]) expect(tokens.has(token), token).toBe(true);
  });

  it('appear in no log line, though every handler logged its event at DEBUG', () => {
    const lines = written.join('').split('\n').filter(Boolean);
    const leaks = lines.filter((line) => [...tokens].some((token) => line.includes(token)));

    expect(leaks).toEqual([]);
    // The logging really ran: the handlers' events were logged, each token field among them masked.
    const events = lines.filter((line) => line.includes('"Lambda invocation event"'));
    expect(events.length).toBeGreaterThan(10);
    expect(events.filter((line) => line.includes('"taskToken":"[redacted]"')).length).toBeGreaterThanOrEqual(tokens.size);
    expect(lines.some((line) => line.includes('"level":"DEBUG"') || line.includes('"level":"INFO"'))).toBe(true);
  });

  it('appear in no status output: status --json, the API and the service, at each gate, mid-wave and at the end', () => {
    expect(outputs.map((o) => o.what)).toEqual(
      expect.arrayContaining(['status --json at the approval gate', 'status --json while paused']),
    );
    const leaks = outputs.filter(({ text }) => [...tokens].some((token) => text.includes(token))).map((o) => o.what);

    expect(leaks).toEqual([]);
    // The views did show the gates, without their tokens.
    const atGate = outputs.find((o) => o.what === 'GET /deployments/{id} at the approval gate');
    expect(JSON.parse(atGate?.text ?? '{}').record.gate).toEqual({ kind: 'approval', wave: 0, since: expect.any(String) });
  });
});
