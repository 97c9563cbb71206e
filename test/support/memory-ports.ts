import { CalendarUnavailable, LockHeld, RecordNotFound, TokenNotFound } from '#core/errors.ts';
import type {
  DeploymentRecord,
  DeploymentStatus,
  HostResult,
  Page,
  RegionPhase,
  RegionProgress,
  Release,
  WaveResult,
  WaveSummary,
} from '#core/records.ts';
import { releaseOf } from '#core/records.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import type { CalendarState } from '#core/window.ts';
import type {
  AlarmState,
  AuditLog,
  ChangeCalendars,
  Clock,
  CommandCompletion,
  CommandRequest,
  DeploymentFields,
  DeploymentStore,
  Events,
  Executions,
  FleetCommands,
  HostInfo,
  Inventory,
  Invocation,
  LockStore,
  Ports,
  RecordStores,
  RegionalEvent,
  RegionStore,
  ReleaseStore,
  StatusEvent,
  TargetGroupWeight,
  TaskCallbacks,
  Traffic,
  WaveSending,
  WaveStore,
} from '#ports';

/**
 * In-memory ports for use-case tests: no DynamoDB, no SDK. The record stores
 * keep the DynamoDB stores' semantics (conditional writes, write-once audit
 * events, newest-first listings, items copied in and out) — the contract test
 * (test/unit/adapters/record-stores.contract.test.ts) runs the same cases
 * against both. The other ports are fakes that record what they were asked.
 */

/** What DynamoDB throws when a condition fails; the in-memory stores throw the same name. */
function conditionFailed(what: string): Error {
  return Object.assign(new Error(`The conditional request failed: ${what}`), { name: 'ConditionalCheckFailedException' });
}

const copy = <T>(value: T): T => structuredClone(value);
const epoch = (now: Date) => Math.floor(now.getTime() / 1000);

/** Drops undefined fields, as the DocumentClient's removeUndefinedValues does. */
function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Pages of a newest-first list: the cursor is the offset of the next page. */
function page<T>(items: readonly T[], limit: number, cursor?: Record<string, unknown>): Page<T> {
  const from = Number(cursor?.offset ?? 0);
  const slice = items.slice(from, from + limit);
  return { items: copy(slice), ...(from + limit < items.length ? { cursor: { offset: from + limit } } : {}) };
}

export class MemoryDeployments implements DeploymentStore {
  readonly records = new Map<string, DeploymentRecord>();

  async createDeployment(id: string, spec: DeploymentSpec, executionName: string, now: Date): Promise<'created' | 'exists'> {
    if (this.records.has(id)) return 'exists';
    const at = now.toISOString();
    this.records.set(id, copy({ deploymentId: id, spec, status: 'PENDING', createdAt: at, updatedAt: at, executionName }));
    return 'created';
  }

  async getDeployment(id: string): Promise<DeploymentRecord> {
    const record = this.records.get(id);
    if (!record) throw new RecordNotFound(`deployment ${id} has no record`);
    return copy(record);
  }

  async updateDeployment(id: string, fields: DeploymentFields, now: Date): Promise<void> {
    const record = this.records.get(id);
    if (!record) throw conditionFailed(`deployment ${id} does not exist`);
    this.records.set(id, { ...record, ...copy(defined(fields)), updatedAt: now.toISOString() } as DeploymentRecord);
  }

  async finishDeployment(id: string, status: DeploymentStatus, reason: string | undefined, now: Date): Promise<DeploymentRecord> {
    const record = this.records.get(id);
    if (!record || (record.endedAt && record.status !== status)) return this.getDeployment(id);
    const at = now.toISOString();
    this.records.set(id, { ...record, status, reason: reason ?? null, endedAt: at, updatedAt: at } as DeploymentRecord);
    return this.getDeployment(id);
  }

  async listDeployments(limit: number, cursor?: Record<string, unknown>): Promise<Page<DeploymentRecord>> {
    const newest = [...this.records.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return page(newest, limit, cursor);
  }

  async clearGate(id: string, token: string, now: Date): Promise<boolean> {
    const record = this.records.get(id);
    if (!record?.gate || record.gate.token !== token) return false;
    this.records.set(id, { ...record, gate: null, updatedAt: now.toISOString() });
    return true;
  }
}

interface Lock {
  holder: string;
  acquiredAt: string;
  expiresAt: number;
}

export class MemoryLocks implements LockStore {
  readonly locks = new Map<string, Lock>();

  constructor(private readonly deployments: MemoryDeployments) {}

  async acquireLock(app: string, env: string, deploymentId: string, now: Date, ttlSeconds: number): Promise<void> {
    const key = `${app}#${env}`;
    const held = this.locks.get(key);
    const free = !held || held.holder === deploymentId || held.expiresAt < epoch(now) || this.hasEnded(held.holder);
    if (!free) throw new LockHeld(held.holder, `${app}/${env} is locked by deployment ${held.holder}`);
    this.locks.set(key, { holder: deploymentId, acquiredAt: now.toISOString(), expiresAt: epoch(now) + ttlSeconds });
  }

  async releaseLock(app: string, env: string, deploymentId: string): Promise<boolean> {
    const key = `${app}#${env}`;
    if (this.locks.get(key)?.holder !== deploymentId) return false;
    this.locks.delete(key);
    return true;
  }

  async getLockHolder(app: string, env: string): Promise<string | undefined> {
    return this.locks.get(`${app}#${env}`)?.holder;
  }

  async getLiveLockHolder(app: string, env: string, now: Date): Promise<string | undefined> {
    const held = this.locks.get(`${app}#${env}`);
    if (!held || held.expiresAt < epoch(now) || this.hasEnded(held.holder)) return undefined;
    return held.holder;
  }

  private hasEnded(id: string): boolean {
    return Boolean(this.deployments.records.get(id)?.endedAt);
  }
}

interface WaveItem {
  wave: number;
  hosts: string[];
  status: string;
  commandIds?: string[];
  completed: Set<string>;
  sentAt?: string;
  sending?: { batch: number; at: string };
  allSent?: boolean;
  succeeded?: number;
  failed?: number;
  endedAt?: string;
}

export class MemoryWaves implements WaveStore {
  readonly waves = new Map<string, WaveItem>();
  readonly tokens = new Map<string, { token: string; deploymentId: string; wave: number }>();
  readonly hostResults = new Map<string, Map<string, HostResult & { updatedAt: string }>>();

  private item(id: string, wave: number): WaveItem {
    const key = `${id}#${wave}`;
    let item = this.waves.get(key);
    if (!item) {
      item = { wave, hosts: [], status: 'PLANNED', completed: new Set() };
      this.waves.set(key, item);
    }
    return item;
  }

  async getWaves(id: string): Promise<WaveSummary[]> {
    return [...this.waves.entries()]
      .filter(([key]) => key.startsWith(`${id}#`))
      .map(([, w]) => w)
      .sort((a, b) => a.wave - b.wave)
      .map((w) => ({
        wave: w.wave,
        hosts: w.hosts.length,
        status: w.status,
        ...defined({ succeeded: w.succeeded, failed: w.failed, sentAt: w.sentAt, endedAt: w.endedAt }),
        commands: w.commandIds?.length ?? 0,
      }));
  }

  async putWave(id: string, wave: number, hosts: readonly string[]): Promise<void> {
    // A put replaces the wave's summary item whole, as BatchWriteItem does.
    this.waves.set(`${id}#${wave}`, { wave, hosts: [...hosts], status: 'PLANNED', completed: new Set() });
  }

  async getWaveHosts(id: string, wave: number): Promise<string[]> {
    return [...(this.waves.get(`${id}#${wave}`)?.hosts ?? [])];
  }

  async markSending(id: string, wave: number, batch: number, now: Date): Promise<void> {
    this.item(id, wave).sending = { batch, at: now.toISOString() };
  }

  async addWaveCommand(id: string, wave: number, batch: number, commandId: string, now: Date): Promise<boolean> {
    const item = this.item(id, wave);
    if ((item.commandIds?.length ?? 0) !== batch) return false;
    item.commandIds = [...(item.commandIds ?? []), commandId];
    item.status = 'RUNNING';
    item.sentAt ??= now.toISOString();
    delete item.sending;
    return true;
  }

  async putCommandTokens(
    id: string,
    wave: number,
    commandIds: readonly string[],
    token: string,
    _now: Date,
  ): Promise<{ waveDone: boolean }> {
    for (const commandId of commandIds) this.tokens.set(commandId, { token, deploymentId: id, wave });
    const item = this.item(id, wave);
    item.allSent = true;
    return { waveDone: done(item) };
  }

  async putCommandToken(id: string, wave: number, commandId: string, token: string, _now: Date): Promise<void> {
    this.tokens.set(commandId, { token, deploymentId: id, wave });
  }

  async completeCommand(commandId: string): Promise<CommandCompletion> {
    const stored = this.tokens.get(commandId);
    if (!stored) throw new TokenNotFound(`no task token stored for command ${commandId} yet`);
    const item = this.item(stored.deploymentId, stored.wave);
    item.completed.add(commandId);
    return { ...stored, waveDone: done(item) };
  }

  async getWaveCommands(id: string, wave: number): Promise<string[]> {
    return (await this.getWaveSending(id, wave)).commandIds;
  }

  async getWaveSending(id: string, wave: number): Promise<WaveSending> {
    const item = this.waves.get(`${id}#${wave}`);
    return {
      commandIds: [...(item?.commandIds ?? [])],
      ...(item?.sentAt ? { sentAt: item.sentAt } : {}),
      ...(item?.sending ? { sending: { ...item.sending } } : {}),
    };
  }

  async putWaveResult(id: string, result: WaveResult, now: Date): Promise<void> {
    Object.assign(this.item(id, result.wave), {
      status: 'DONE',
      succeeded: result.succeeded,
      failed: result.failed,
      endedAt: now.toISOString(),
    });
  }

  async putHostResults(id: string, results: readonly HostResult[], now: Date): Promise<void> {
    const hosts = this.hostResults.get(id) ?? new Map();
    for (const result of results) hosts.set(result.instanceId, { ...copy(defined(result) as HostResult), updatedAt: now.toISOString() });
    this.hostResults.set(id, hosts);
  }

  async getHostResults(id: string): Promise<HostResult[]> {
    const hosts = [...(this.hostResults.get(id)?.values() ?? [])];
    return copy(hosts.sort((a, b) => a.instanceId.localeCompare(b.instanceId)));
  }
}

function done(item: WaveItem): boolean {
  return item.allSent === true && (item.commandIds ?? []).every((c) => item.completed.has(c));
}

/** One audit event as the store keeps it. */
export interface AuditItem extends Record<string, unknown> {
  readonly type: string;
  readonly actor: string;
  readonly at: string;
}

export class MemoryAudit implements AuditLog {
  readonly events = new Map<string, AuditItem[]>();
  readonly onceKeys = new Set<string>();

  async appendEvent(id: string, type: string, actor: string, detail: Record<string, unknown>, now: Date): Promise<void> {
    const list = this.events.get(id) ?? [];
    list.push({ type, actor, at: now.toISOString(), ...copy(defined(detail)) });
    this.events.set(id, list);
  }

  async appendEventOnce(
    id: string,
    once: string,
    type: string,
    actor: string,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<boolean> {
    const key = `${id}#${once}`;
    if (this.onceKeys.has(key)) return false;
    this.onceKeys.add(key);
    await this.appendEvent(id, type, actor, detail, now);
    return true;
  }

  async getEvents(id: string): Promise<Record<string, unknown>[]> {
    // Sorted by time as the EVENT#<iso> sort keys are; events of the same instant keep their order of writing.
    return copy([...(this.events.get(id) ?? [])].sort((a, b) => a.at.localeCompare(b.at)));
  }

  /** The event types of a deployment, in order: what most use-case tests assert. */
  types(id: string): string[] {
    return (this.events.get(id) ?? []).map((e) => e.type);
  }
}

export class MemoryReleases implements ReleaseStore {
  readonly releases = new Map<string, Release[]>();

  async listReleases(app: string, env: string, limit: number, cursor?: Record<string, unknown>): Promise<Page<Release>> {
    const newest = [...(this.releases.get(`${app}#${env}`) ?? [])].sort((a, b) => b.endedAt.localeCompare(a.endedAt));
    return page(newest, limit, cursor);
  }

  async putRelease(record: DeploymentRecord, status: DeploymentStatus, now: Date): Promise<void> {
    const release = releaseOf(record, status, now);
    const key = `${release.app}#${release.environment}`;
    // Keyed by its end time: a retried close rewrites the same release.
    const others = (this.releases.get(key) ?? []).filter((r) => r.endedAt !== release.endedAt);
    this.releases.set(key, [...others, release]);
  }

  async lastGoodVersion(app: string, env: string): Promise<string | undefined> {
    const newest = (await this.listReleases(app, env, Number.MAX_SAFE_INTEGER)).items;
    return newest.find((r) => r.status === 'SUCCEEDED')?.version;
  }
}

export class MemoryRegions implements RegionStore {
  constructor(private readonly deployments: MemoryDeployments) {}

  async updateRegion(
    id: string,
    region: string,
    phase: RegionPhase,
    fields: Partial<Omit<RegionProgress, 'rollback'>>,
    now: Date,
  ): Promise<void> {
    const record = this.deployments.records.get(id);
    const current = record?.regions?.[region];
    if (!record || !current) throw conditionFailed(`deployment ${id} has no region ${region}`);
    const set = copy(defined(fields));
    const next: RegionProgress =
      phase === 'rollback'
        ? { ...current, rollback: { ...(current.rollback ?? {}), ...set } as RegionProgress['rollback'] }
        : { ...current, ...set };
    this.deployments.records.set(id, { ...record, regions: { ...record.regions, [region]: next }, updatedAt: now.toISOString() });
  }
}

/** Every record store in memory, sharing one set of deployments (locks and regions read it). */
export function memoryRecords() {
  const deployments = new MemoryDeployments();
  return {
    deployments,
    locks: new MemoryLocks(deployments),
    waves: new MemoryWaves(),
    audit: new MemoryAudit(),
    releases: new MemoryReleases(),
    regions: new MemoryRegions(deployments),
  } satisfies RecordStores;
}

/** SSM Run Command and inventory: sends are recorded; invocations and ping status are what the test sets. */
export class FakeFleet implements FleetCommands, Inventory {
  readonly sent: (CommandRequest & { commandId: string })[] = [];
  /** Invocations by command id; by default every host of the command succeeded. */
  readonly results = new Map<string, Invocation[]>();
  /** Hosts a target selector resolves to (tags and resource groups alike), and hosts SSM does not see online. */
  hosts: string[] = [];
  offline = new Set<string>();
  private next = 0;

  async send(request: CommandRequest): Promise<string> {
    const commandId = `cmd-${String(++this.next).padStart(4, '0')}`;
    this.sent.push({ ...copy(request), commandId });
    return commandId;
  }

  async invocations(commandId: string): Promise<Invocation[]> {
    const set = this.results.get(commandId);
    if (set) return copy(set);
    const request = this.sent.find((s) => s.commandId === commandId);
    return (request?.instanceIds ?? []).map((instanceId) => ({ instanceId, status: 'Success', statusDetails: 'Success' }));
  }

  async findCommand(query: { instanceId: string; document: string; comment: string; after: Date }): Promise<string | undefined> {
    return this.sent.find((s) => s.instanceIds.includes(query.instanceId) && s.document === query.document && s.comment === query.comment)
      ?.commandId;
  }

  async resolve(targets: { tags?: Record<string, string>; instanceIds?: string[] }): Promise<string[]> {
    return targets.instanceIds ? [...targets.instanceIds] : [...this.hosts];
  }

  async pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]> {
    return instanceIds.map((instanceId) => ({ instanceId, pingStatus: this.offline.has(instanceId) ? 'ConnectionLost' : 'Online' }));
  }
}

/** CloudWatch alarms: the states the test sets. */
export class FakeAlarms {
  states: AlarmState[] = [];
  readonly asked: { names?: string[]; prefix?: string }[] = [];

  async describe(selector: { names?: string[]; prefix?: string }): Promise<AlarmState[]> {
    this.asked.push(copy(selector));
    return this.states.filter((a) => selector.names?.includes(a.name) || (selector.prefix && a.name.startsWith(selector.prefix)));
  }
}

/** SSM Change Calendar: the states the test sets, by calendar name; every question asked, in order. */
export class FakeCalendars implements ChangeCalendars {
  readonly states = new Map<string, CalendarState>();
  readonly asked: { name: string; at: string }[] = [];

  async state(calendarName: string, at: Date): Promise<CalendarState> {
    this.asked.push({ name: calendarName, at: at.toISOString() });
    const state = this.states.get(calendarName);
    if (!state)
      throw new CalendarUnavailable(
        `change calendar ${calendarName} cannot be read: InvalidDocument: The specified SSM document doesn't exist.`,
      );
    return { ...state };
  }
}

/** Step Functions task tokens: every answer, in order. */
export class FakeCallbacks implements TaskCallbacks {
  readonly answers: ({ token: string; output: unknown } | { token: string; error: string; cause: string })[] = [];
  /** Answers to these tokens throw the error of this name (e.g. TaskTimedOut). */
  readonly stale = new Map<string, string>();

  async succeed(token: string, output: unknown): Promise<void> {
    this.check(token);
    this.answers.push({ token, output: copy(output) });
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.check(token);
    this.answers.push({ token, error, cause });
  }

  private check(token: string): void {
    const name = this.stale.get(token);
    if (name) throw Object.assign(new Error(`${name}: the task no longer waits`), { name });
  }
}

/** EventBridge: every event put, in order. */
export class FakeEvents implements Events {
  readonly log: (StatusEvent | RegionalEvent)[] = [];

  async put(event: StatusEvent | RegionalEvent): Promise<void> {
    this.log.push(copy(event));
  }

  /** The statuses of the "Deployment Status Change" events, in order. */
  statuses(): string[] {
    return this.log.flatMap((e) => (e.detailType === 'Deployment Status Change' ? [e.detail.status] : []));
  }
}

/** ALB listeners' weighted forwards, by listener ARN. */
export class FakeTraffic implements Traffic {
  readonly listeners = new Map<string, TargetGroupWeight[]>();
  readonly shifts: { listenerArn: string; weights: TargetGroupWeight[] }[] = [];

  async weights(listenerArn: string): Promise<TargetGroupWeight[]> {
    return copy(this.listeners.get(listenerArn) ?? []);
  }

  async shift(listenerArn: string, weights: readonly TargetGroupWeight[]): Promise<void> {
    this.listeners.set(listenerArn, copy([...weights]));
    this.shifts.push({ listenerArn, weights: copy([...weights]) });
  }
}

/** StartExecution: every start, answered with an ARN; the same name twice answers the same execution. */
export class FakeExecutions implements Executions {
  readonly started: { strategy: string; name: string; input: unknown }[] = [];

  async start(strategy: string, name: string, input: unknown): Promise<{ executionArn: string }> {
    if (!this.started.some((s) => s.name === name)) this.started.push({ strategy, name, input: copy(input) });
    return { executionArn: `arn:aws:states:us-east-1:123456789012:execution:deployctl-${strategy}:${name}` };
  }
}

/** A clock the test moves. */
export class FakeClock implements Clock {
  constructor(private at = new Date('2026-03-02T10:00:00.000Z')) {}

  now(): Date {
    return new Date(this.at);
  }

  advance(seconds: number): void {
    this.at = new Date(this.at.getTime() + seconds * 1000);
  }
}

/** Every port in memory: the record stores, fakes of the services, and a fixed clock. */
export function memoryPorts() {
  const fleet = new FakeFleet();
  return {
    ...memoryRecords(),
    fleet,
    inventory: fleet,
    alarms: new FakeAlarms(),
    calendars: new FakeCalendars(),
    callbacks: new FakeCallbacks(),
    events: new FakeEvents(),
    traffic: new FakeTraffic(),
    executions: new FakeExecutions(),
    clock: new FakeClock(),
  } satisfies Ports;
}
