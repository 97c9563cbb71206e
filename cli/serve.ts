import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { DeploymentService } from '#app/deployments.ts';
import { MAX_BODY_BYTES, resolveRoute } from '#core/api-contract.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import { DeploymentSpec as SpecSchema } from '#core/spec.ts';
import { type Executions, type Ports, systemClock } from '#ports';
import { FUNCTIONS } from '#registry';
import { osUser } from './commands.ts';
import { prepareLocalFleet, readHosts } from './local/fleet-setup.ts';
import { fakeContext } from './local/interpreter.ts';
import { type LocalSession, startLocalSession } from './local/session.ts';
import { openWorkspace, type Workspace } from './local/workspace.ts';

/** Bodies larger than this are refused (413), as the API handler refuses them. */
export { MAX_BODY_BYTES };

/** Header that names the local caller (a webhook, a teammate); it stands in for the IAM identity API Gateway would give. */
export const CALLER_HEADER = 'x-deployctl-caller';
const CALLER = /^[\w.@:/+=-]{1,200}$/;

export interface ServeOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The API function's handler, as API Gateway would invoke it. */
  readonly api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** One line per request (method, path, status, time). */
  readonly log?: (line: string) => void;
}

export interface LocalApi {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the API's handler (the very function the Lambda runs) over plain
 * HTTP: each request becomes the API Gateway proxy event the REST API would
 * send, with the local user standing in for the IAM caller.
 */
export async function serveLocal(options: ServeOptions): Promise<LocalApi> {
  const api = options.api;
  const host = options.host ?? '127.0.0.1';
  const localUser = `local:${osUser()}`;
  const server = createServer((req, res) => {
    const started = Date.now();
    void handle(req, res).then(
      (status) => options.log?.(`${req.method} ${req.url} -> ${status} (${Date.now() - started} ms)`),
      (error: unknown) => {
        options.log?.(`${req.method} ${req.url} -> failed: ${(error as Error).message}`);
        if (!res.headersSent)
          send(res, { statusCode: 500, headers: {}, body: JSON.stringify({ error: 'InternalError', message: 'the request failed' }) });
      },
    );
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      const answer = {
        statusCode: 413,
        headers: { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' },
        body: JSON.stringify({ error: 'PayloadTooLarge', message: `the request body exceeds ${MAX_BODY_BYTES} bytes` }),
      };
      send(res, answer);
      return answer.statusCode;
    }
    const refusal = refuseBrowserRequest(req);
    if (refusal) {
      const answer = {
        statusCode: refusal.statusCode,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ error: refusal.error, message: refusal.message }),
      };
      send(res, answer);
      return answer.statusCode;
    }
    const event = toEvent(req, body, localUser);
    const answer = await api(event);
    send(res, answer);
    return answer.statusCode;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    ALLOWED_HOSTS.add(host);
    options.log?.(`warning: listening on ${host}: anyone who can reach it can run commands on the local fleet; there is no authentication`);
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * The local API runs commands on this machine's local fleet, so a web page
 * must not be able to drive it: requests a browser sends across sites carry an
 * Origin, may name another Host (DNS rebinding) or post text/plain without a
 * preflight. curl, scripts and webhooks send none of these.
 */
function refuseBrowserRequest(req: IncomingMessage): { statusCode: number; error: string; message: string } | undefined {
  if (req.headers.origin !== undefined) {
    return { statusCode: 403, error: 'Forbidden', message: 'requests from web pages (with an Origin header) are refused by the local API' };
  }
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  if (!LOOPBACK_NAMES.has(host) && !ALLOWED_HOSTS.has(host)) {
    return { statusCode: 403, error: 'Forbidden', message: `Host ${host || '(none)'} is not this machine; use localhost` };
  }
  const type = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && Number(req.headers['content-length'] ?? 0) > 0 && !/^application\/json\b/i.test(type)) {
    return { statusCode: 415, error: 'UnsupportedMediaType', message: 'send the body as Content-Type: application/json' };
  }
  return undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/** Names other than loopback the server answers to (set when it listens on another address). */
const ALLOWED_HOSTS = new Set<string>();

/** The body as text, or undefined when it exceeds `limit` bytes (the rest is drained, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** The API Gateway (REST, Lambda proxy) event for a local request. */
function toEvent(req: IncomingMessage, body: string, localUser: string): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const route = resolveRoute(url.pathname);
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = value;
    multiQuery[key] = [...(multiQuery[key] ?? []), value];
  }
  const named = req.headers[CALLER_HEADER];
  const caller = typeof named === 'string' && CALLER.test(named) ? `local:${named}` : localUser;
  const resource = route?.resource ?? url.pathname;
  const requestId = randomUUID();
  return {
    resource,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: route?.pathParameters ?? null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      identity: {
        accessKey: null,
        accountId: '000000000000',
        apiKey: null,
        apiKeyId: null,
        caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: caller,
        userAgent: req.headers['user-agent'] ?? null,
        userArn: caller,
      },
    },
  };
}

function send(res: ServerResponse, answer: APIGatewayProxyResult): void {
  const body = Buffer.from(answer.body, answer.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | number> = {
    ...(answer.headers as Record<string, string | number> | undefined),
    'Content-Length': body.length,
  };
  res.writeHead(answer.statusCode, headers);
  res.end(body);
}

export interface LocalApiOptions {
  /** Folder that keeps the local fleet and DynamoDB Local's data between commands. @default '.deployctl' */
  readonly stateDir?: string;
  /** A running DynamoDB Local to use instead of the folder's own. */
  readonly dynamoEndpoint?: string;
  readonly tableName?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly log?: (line: string) => void;
  /** Wait states (bake) last this many milliseconds locally. @default 0 */
  readonly bakeMs?: number;
}

export interface LocalApiServer extends LocalApi {
  /** The service behind the server (the CLI prints from it; tests read records through it). */
  readonly service: DeploymentService;
  readonly session: LocalSession;
  readonly workspace: Workspace;
  /** Waits for every deployment started here to end. */
  settle(): Promise<void>;
}

/**
 * `deployctl serve --local` in one call: the local folder (fleet, DynamoDB
 * Local), the synthesized state machines run in this process in the
 * background, and the API on localhost. A deployment for an app+env with no
 * local hosts gets a new set of them first. `close()` stops the server and
 * stops what still runs (StopExecution: records end ABORTED, locks released).
 */
export async function startLocalApi(options: LocalApiOptions): Promise<LocalApiServer> {
  const workspace = await openWorkspace({
    stateDir: options.stateDir ?? '.deployctl',
    ...(options.dynamoEndpoint ? { dynamoEndpoint: options.dynamoEndpoint } : {}),
    ...(options.tableName ? { tableName: options.tableName } : {}),
  });
  let session: LocalSession | undefined;
  try {
    session = await startLocalSession({
      fleetDir: workspace.fleetDir,
      endpoint: workspace.endpoint,
      tableName: workspace.tableName,
      callbackInbox: workspace.inbox,
      ...(options.bakeMs !== undefined ? { bakeMs: options.bakeMs } : {}),
    });
    const region = session.region;
    const running = new Set<string>();
    // The bookkeeping that lets `deployctl approve --local` find this process, and a line when a deployment ends.
    region.executions.onStarted(async (name, run) => {
      if (running.has(name)) return;
      running.add(name);
      await workspace.running(name);
      void run
        .then(async (finished) => {
          const record = await region.record(name).catch(() => undefined);
          options.log?.(`deployment ${name} ended ${record?.status ?? finished.status}${record?.reason ? `: ${record.reason}` : ''}`);
        })
        .catch(() => undefined)
        .finally(async () => {
          running.delete(name);
          await workspace.finished(name).catch(() => undefined);
        });
    });
    // The API's start, rollback and controls: the local region's deployments service over StartExecution in this process.
    const service = region.service;
    const ensureFleet = async (spec: DeploymentSpec) => {
      const hosts = await readHosts(workspace.fleetDir);
      // Another process may have added hosts since this one read the folder.
      region.fleet.reload();
      if (hosts.some((h) => h.tags.app === spec.app && h.tags.environment === spec.environment)) return;
      const created = await prepareLocalFleet(workspace.fleetDir, spec);
      region.fleet.reload();
      options.log?.(`local fleet: ${created.length} new hosts for ${spec.app}/${spec.environment}`);
    };
    const server = await serveLocal({
      port: options.port,
      ...(options.host ? { host: options.host } : {}),
      api: await localApiFunction(region, ensureFleet),
      ...(options.log ? { log: options.log } : {}),
    });
    const opened = session;
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      service,
      session: opened,
      workspace,
      settle: () => region.executions.settle(),
      close() {
        closing ??= (async () => {
          await server.close();
          for (const name of running) {
            try {
              region.stop(name);
            } catch {
              // It ended meanwhile.
            }
          }
          await region.executions.settle();
          await opened.close();
          await workspace.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await session?.close();
    await workspace.close();
    throw error;
  }
}

/**
 * The API function as the registry builds it (the very handler the Lambda
 * runs) over the local region's ports. Its StartExecution makes the local
 * fleet ready for the spec first: a valid, unlocked request for an app+env the
 * folder has no hosts for gets them.
 */
async function localApiFunction(
  region: LocalSession['region'],
  ensureFleet: (spec: DeploymentSpec) => Promise<void>,
): Promise<ServeOptions['api']> {
  const executions: Executions = {
    async start(strategy, name, input) {
      const parsed = SpecSchema.safeParse(input);
      if (parsed.success) await ensureFleet(parsed.data);
      return region.executions.start(strategy, name, input);
    },
  };
  const create = await FUNCTIONS.api.load();
  // As the local interpreter binds every function: the registry's factory over the ports its entry names.
  const ports: Pick<Ports, (typeof FUNCTIONS.api.ports)[number]> = {
    ...region.records,
    executions,
    callbacks: region.callbacks,
    clock: systemClock,
  };
  const handler = create(ports as never);
  return async (event) => (await handler(event, fakeContext('api'))) as APIGatewayProxyResult;
}
