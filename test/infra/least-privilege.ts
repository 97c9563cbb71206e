import * as path from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { ALLOWED_AWS_DOCUMENTS } from '#core/spec.ts';
import { OrchestratorFunction } from '#lib/orchestrator-function.ts';
import { FUNCTIONS, type FunctionName, type FunctionSpec } from '#registry';
import { PROJECT_ROOT, type SdkCall, type SdkCallAnalyzer } from '#test/infra/sdk-calls.ts';
import { type Json, logicalIdOf } from '#test/infra/synth.ts';

/** The IAM service prefix of each SDK package the code may use; a package missing here fails the coverage test. */
const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  '@aws-sdk/client-cloudformation': 'cloudformation',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-cloudwatch-logs': 'logs',
  '@aws-sdk/client-codepipeline': 'codepipeline',
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-elastic-load-balancing-v2': 'elasticloadbalancing',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-kms': 'kms',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-scheduler': 'scheduler',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-ssm': 'ssm',
  '@aws-sdk/client-sts': 'sts',
};

/** lib-dynamodb's document commands, by the DynamoDB operation (and IAM action) each sends. */
const DOCUMENT_COMMANDS: Readonly<Record<string, string>> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
  TransactGetCommand: 'TransactGetItems',
  TransactWriteCommand: 'TransactWriteItems',
  ExecuteStatementCommand: 'ExecuteStatement',
};

/**
 * A transaction is authorized by the actions of its parts, not an action of
 * its own: Put, Update, Delete and Get by PutItem, UpdateItem, DeleteItem and
 * GetItem, ConditionCheck by ConditionCheckItem (DynamoDB developer guide,
 * "Using IAM with DynamoDB transactions").
 */
const TRANSACT_PARTS: Readonly<Record<string, string>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Get: 'GetItem',
  ConditionCheck: 'ConditionCheckItem',
};

/**
 * Actions that support no resource-level permission (the Service Authorization
 * Reference lists no resource type for them), so `Resource: *` is their only
 * grant. Each other action must be granted on the resources its code addresses.
 */
export const UNSCOPED_ACTIONS: Readonly<Record<string, string>> = {
  'ssm:DescribeInstanceInformation': 'lists managed instances; no resource type',
  'ssm:ListCommands': 'lists commands; no resource type',
  'ssm:ListCommandInvocations': 'lists command invocations; no resource type',
  'cloudwatch:DescribeAlarms':
    'alarm names come with each spec (names, prefix or tag), and composite alarms are returned only when the grant is on *',
  'elasticloadbalancing:DescribeListeners': 'no resource type',
  'xray:PutTraceSegments': 'no resource type',
  'xray:PutTelemetryRecords': 'no resource type',
};

/**
 * Actions a function is granted for what the platform does with its role,
 * not for a call of its code. Each is required exactly when the template says
 * the platform needs it, and only on that resource.
 */
export const PLATFORM_ACTIONS = {
  tracing: {
    actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
    reason: 'active X-Ray tracing (TracingConfig Active): Lambda sends the trace segments with the function role',
  },
  logs: {
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    reason: "the function's own log group (LoggingConfig.LogGroup): Lambda writes the function's logs with its role",
  },
  failureDestination: {
    actions: ['sqs:SendMessage'],
    reason: 'an SQS destination of asynchronous invocations (EventInvokeConfig): Lambda sends failed events there with the function role',
  },
  tableKeyRead: {
    actions: ['kms:Decrypt', 'kms:DescribeKey'],
    reason: "a table encrypted with a customer managed key: DynamoDB decrypts the table key with the caller's permissions",
  },
  tableKeyWrite: {
    actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
    reason: "a write to a table encrypted with a customer managed key: DynamoDB encrypts under it with the caller's permissions",
  },
} as const;

/** One IAM action a function needs, with the resources it may be granted on. */
export interface Need {
  readonly action: string;
  /** What the resource must be, in words (for failure messages). */
  readonly scope: string;
  /** Whether a granted resource (flattened) of a statement satisfies this need. */
  readonly accepts: (resource: string, statement: Statement) => boolean;
  /** Why: the code sites or the platform reason. */
  readonly why: string;
}

export interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: Json;
  readonly NotResource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

export interface TemplateJson {
  readonly Resources?: Record<string, CfnResource>;
}

/** A Lambda function of the template with what the coverage test knows of it. */
export interface LambdaUnderTest {
  /** The construct path (what failure messages name). */
  readonly name: string;
  readonly logicalId: string;
  /** The entry file, when the function is an OrchestratorFunction; undefined otherwise. */
  readonly entry?: string;
  /** Its name in lambdas/registry.ts, when the function is an OrchestratorFunction. */
  readonly registryName?: FunctionName;
}

/** Every AWS::Lambda::Function of the stack's template, matched to the OrchestratorFunction that built it. */
export function lambdasOf(stack: Stack, template: TemplateJson): LambdaUnderTest[] {
  const built = new Map<string, OrchestratorFunction>();
  for (const construct of stack.node.findAll())
    if (construct instanceof OrchestratorFunction) built.set(logicalIdOf(construct.function), construct);
  const paths = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    const child = construct.node.defaultChild as { logicalId?: string } | undefined;
    if (child?.logicalId !== undefined) paths.set(stack.resolve(child.logicalId) as string, construct.node.path);
  }
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([logicalId]) => {
      const fn = built.get(logicalId);
      return {
        name: fn?.node.path ?? paths.get(logicalId) ?? logicalId,
        logicalId,
        ...(fn ? { entry: fn.entry, registryName: fn.name } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A resource element as one string: `{Ref: X}` is `<X>`, `{Fn::GetAtt: [X, Arn]}` is `<X.Arn>`, joins joined. */
export function flatten(value: Json | undefined): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(flatten).join(join[0]);
    if (typeof value.Ref === 'string') return `<${value.Ref}>`;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  }
  return JSON.stringify(value);
}

/** Every statement granted to a role: its inline policies and every AWS::IAM::Policy attached to it. */
export function statementsOfRole(template: TemplateJson, roleLogicalId: string): Statement[] {
  const resources = Object.values(template.Resources ?? {});
  const role = template.Resources?.[roleLogicalId];
  const inline = ((role?.Properties?.Policies ?? []) as unknown as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
    (p) => p.PolicyDocument.Statement,
  );
  const attached = resources
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => ((r.Properties?.Roles ?? []) as Json[]).some((ref) => flatten(ref) === `<${roleLogicalId}>`))
    .flatMap((r) => (r.Properties?.PolicyDocument as unknown as { Statement?: Statement[] } | undefined)?.Statement ?? []);
  return [...inline, ...attached];
}

/** The IAM action (or, for a transaction, actions) an SDK command is authorized by; a string array of problems when unknown. */
export function actionsFor(call: SdkCall): { actions: string[] } | { problem: string } {
  const prefix = SERVICE_PREFIX[call.module];
  if (!prefix) return { problem: `${call.command} of ${call.module} at ${call.site}: add the package's IAM prefix to SERVICE_PREFIX` };
  const operation =
    call.module === '@aws-sdk/lib-dynamodb' ? DOCUMENT_COMMANDS[call.command] : call.command.replace(/Command$/, '') || undefined;
  if (!operation) return { problem: `${call.command} of ${call.module} at ${call.site}: no known DynamoDB operation` };
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const parts = call.transactOperations.map((op) => TRANSACT_PARTS[op]).filter((a): a is string => a !== undefined);
    if (parts.length === 0)
      return { problem: `${call.command} at ${call.site}: no Put, Update, Delete, Get or ConditionCheck found beside it to authorize` };
    return { actions: parts.map((part) => `dynamodb:${part}`) };
  }
  return { actions: [`${prefix}:${operation}`] };
}

/** What a function's template entry says: its environment, tracing, log group, destinations and tables. */
class FunctionFacts {
  readonly properties: Record<string, Json>;
  readonly env: Record<string, Json>;

  constructor(
    readonly template: TemplateJson,
    readonly logicalId: string,
    readonly region: string,
    readonly account: string,
  ) {
    const fn = template.Resources?.[logicalId];
    if (!fn) throw new Error(`no ${logicalId} in the template`);
    this.properties = fn.Properties ?? {};
    const environment = this.properties.Environment as { Variables?: Record<string, Json> } | undefined;
    this.env = environment?.Variables ?? {};
  }

  typeOf(logicalId: string): string | undefined {
    return this.template.Resources?.[logicalId]?.Type;
  }

  /** Logical ids referenced (Ref) anywhere in the function's environment, with their resource types. */
  referencedInEnv(type: RegExp): string[] {
    const found = new Set<string>();
    const visit = (value: Json): void => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === 'object') {
        if (typeof value.Ref === 'string' && type.test(this.typeOf(value.Ref) ?? '')) found.add(value.Ref);
        Object.values(value).forEach(visit);
      }
    };
    visit(this.env);
    return [...found];
  }

  /** The tables the function's environment names (TABLE_NAME and the like). */
  tables(): string[] {
    return this.referencedInEnv(/^AWS::DynamoDB::(Global)?Table$/);
  }

  /** The table's customer managed key (flattened), if it has one. */
  tableKey(table: string): string | undefined {
    const props = this.template.Resources?.[table]?.Properties ?? {};
    const replicas = (props.Replicas ?? []) as { SSESpecification?: { KMSMasterKeyId?: Json } }[];
    const sse = props.SSESpecification as { KMSMasterKeyId?: Json } | undefined;
    const key = sse?.KMSMasterKeyId ?? replicas.find((r) => r.SSESpecification?.KMSMasterKeyId)?.SSESpecification?.KMSMasterKeyId;
    return key === undefined ? undefined : flatten(key);
  }

  stateMachineNames(): string[] {
    return Object.values(this.template.Resources ?? {})
      .filter((r) => r.Type === 'AWS::StepFunctions::StateMachine')
      .map((r) => String(r.Properties?.StateMachineName ?? ''))
      .filter((name) => name !== '');
  }

  documentNames(): string[] {
    const own = Object.values(this.template.Resources ?? {})
      .filter((r) => r.Type === 'AWS::SSM::Document')
      .map((r) => String(r.Properties?.Name ?? ''));
    return [...ALLOWED_AWS_DOCUMENTS, ...own];
  }

  /** The queues (flattened ARNs) the function's asynchronous invocations go to on failure or success. */
  destinationQueues(): string[] {
    return Object.values(this.template.Resources ?? {})
      .filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && flatten(r.Properties?.FunctionName) === `<${this.logicalId}>`)
      .flatMap((r) => {
        const config = (r.Properties?.DestinationConfig ?? {}) as Record<string, { Destination?: Json }>;
        return Object.values(config).map((d) => flatten(d.Destination));
      })
      .filter((arn) => /^<\w+\.Arn>$/.test(arn) && this.typeOf(arn.slice(1, -5)) === 'AWS::SQS::Queue');
  }

  arnPrefix(service: string, account = this.account): string {
    return `arn:<AWS::Partition>:${service}:${this.region}:${account}:`;
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Which resources an action of the code may be granted on, from what the function's template entry addresses. */
function scopeOf(action: string, onIndex: boolean, facts: FunctionFacts): Pick<Need, 'scope' | 'accepts'> {
  if (Object.hasOwn(UNSCOPED_ACTIONS, action)) return { scope: '*', accepts: (r) => r === '*' };
  const [service] = action.split(':') as [string];
  if (service === 'dynamodb') {
    const tables = facts.tables().map((t) => `<${t}.Arn>`);
    if (onIndex)
      return {
        scope: `an index of the table its environment names (${tables.join(', ') || 'none'})`,
        accepts: (r) => tables.some((t) => new RegExp(`^${escapeRegExp(t)}/index/[\\w.-]+$`).test(r)),
      };
    return { scope: `the table its environment names (${tables.join(', ') || 'none'})`, accepts: (r) => tables.includes(r) };
  }
  if (action === 'states:StartExecution') {
    const machines = facts.referencedInEnv(/^AWS::StepFunctions::StateMachine$/).map((m) => `<${m}>`);
    return { scope: `the state machines its environment names (${machines.join(', ')})`, accepts: (r) => machines.includes(r) };
  }
  if (action.startsWith('states:SendTask')) {
    const names = facts.stateMachineNames();
    const arn = new RegExp(`^${escapeRegExp(facts.arnPrefix('states'))}stateMachine:(.+)$`);
    return {
      scope: `the state machines of the stack (${names.join(', ')})`,
      accepts: (r) =>
        names.includes(arn.exec(r)?.[1] ?? '') || facts.typeOf(r.replace(/^<(\w+)>$/, '$1')) === 'AWS::StepFunctions::StateMachine',
    };
  }
  if (action === 'events:PutEvents') {
    const bus = flatten(facts.env.EVENT_BUS_NAME ?? 'default');
    const arn = `${facts.arnPrefix('events')}event-bus/${bus}`;
    return { scope: arn, accepts: (r) => r === arn };
  }
  if (action === 'ssm:SendCommand') {
    const documents = facts.documentNames();
    const document = new RegExp(
      `^${escapeRegExp(`arn:<AWS::Partition>:ssm:${facts.region}:`)}(${escapeRegExp(facts.account)})?:document/(.+)$`,
    );
    const instances = [`${facts.arnPrefix('ec2')}instance/*`, `${facts.arnPrefix('ssm')}managed-instance/*`];
    return {
      scope: `the allow-listed documents (${documents.join(', ')}) and, under an ssm:resourceTag condition, instances of this account and region`,
      accepts: (r, statement) =>
        documents.includes(document.exec(r)?.[2] ?? '') ||
        (instances.includes(r) &&
          Object.values(statement.Condition ?? {}).some((test) => Object.keys(test).some((key) => key.startsWith('ssm:resourceTag/')))),
    };
  }
  if (action === 'elasticloadbalancing:ModifyListener') {
    const prefix = `${facts.arnPrefix('elasticloadbalancing')}listener/app/`;
    return { scope: `${prefix}*`, accepts: (r) => r.startsWith(prefix) };
  }
  // Any other action: an ARN of its own service in this account and region, never `*`.
  const prefix = facts.arnPrefix(service);
  return { scope: `${prefix}...`, accepts: (r) => r.startsWith(prefix) && r.length > prefix.length };
}

export interface Coverage {
  readonly needs: readonly Need[];
  /** Calls that cannot be mapped to an action (unknown package, waiters...). */
  readonly problems: readonly string[];
}

/** What a function needs: an action for each SDK command its code can send, and the platform's. */
export function needsOf(fn: LambdaUnderTest, analyzer: SdkCallAnalyzer, template: TemplateJson, region: string, account: string): Coverage {
  if (!fn.entry) {
    return {
      needs: [],
      problems: [
        `${fn.name} is not an OrchestratorFunction, so the code it runs is unknown: build it with lib/orchestrator-function.ts (which records its entry) or teach test/infra/least-privilege.ts where its code is`,
      ],
    };
  }
  const facts = new FunctionFacts(template, fn.logicalId, region, account);
  const analysis = analyzer.analyze(fn.entry);
  const problems = analysis.unmapped.map((u) => `${u.what} at ${u.site}`);
  const found = new Map<string, { action: string; onIndex: boolean; sites: string[] }>();
  for (const call of analysis.calls) {
    const mapped = actionsFor(call);
    if ('problem' in mapped) {
      problems.push(mapped.problem);
      continue;
    }
    for (const action of mapped.actions) {
      const onIndex = action === 'dynamodb:Query' && call.onIndex;
      const key = `${action}${onIndex ? ' (index)' : ''}`;
      const entry = found.get(key) ?? { action, onIndex, sites: [] };
      entry.sites.push(`${call.command} at ${call.site}`);
      found.set(key, entry);
    }
  }
  const code: Need[] = [...found.values()].map(({ action, onIndex, sites }) => ({
    action,
    ...scopeOf(action, onIndex, facts),
    why: sites.join(', '),
  }));
  return { needs: [...code, ...platformNeeds(facts, code)], problems };
}

function platformNeeds(facts: FunctionFacts, code: readonly Need[]): Need[] {
  const out: Need[] = [];
  const add = (entry: { actions: readonly string[]; reason: string }, scope: string) => {
    for (const action of entry.actions) out.push({ action, scope, accepts: (r) => r === scope, why: entry.reason });
  };
  const tracing = facts.properties.TracingConfig as { Mode?: string } | undefined;
  if (tracing?.Mode === 'Active') add(PLATFORM_ACTIONS.tracing, '*');
  const logging = facts.properties.LoggingConfig as { LogGroup?: Json } | undefined;
  if (logging?.LogGroup !== undefined) add(PLATFORM_ACTIONS.logs, `<${flatten(logging.LogGroup).replace(/^<(\w+)>$/, '$1')}.Arn>`);
  for (const queue of facts.destinationQueues()) add(PLATFORM_ACTIONS.failureDestination, queue);
  const tableActions = code.filter((need) => need.action.startsWith('dynamodb:'));
  for (const table of facts.tables()) {
    const key = facts.tableKey(table);
    if (!key || tableActions.length === 0) continue;
    add(PLATFORM_ACTIONS.tableKeyRead, key);
    const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
    if (tableActions.some((need) => writes.includes(need.action))) add(PLATFORM_ACTIONS.tableKeyWrite, key);
  }
  return out;
}

/**
 * The AWS calls an entry's code can make, as the registry spells them: IAM actions, a
 * query on the listing index marked `(index)`. Sorted, without duplicates.
 */
export function codeCallsOf(entry: string, analyzer: SdkCallAnalyzer): string[] {
  const calls = new Set<string>();
  for (const call of analyzer.analyze(entry).calls) {
    const mapped = actionsFor(call);
    if ('problem' in mapped) continue;
    for (const action of mapped.actions) calls.add(action === 'dynamodb:Query' && call.onIndex ? `${action} (index)` : action);
  }
  return [...calls].sort();
}

/** The calls a function's registry entry lists (its IAM policy's source), spelled as codeCallsOf spells them. */
export function registryCallsOf(name: FunctionName): string[] {
  const { calls }: FunctionSpec = FUNCTIONS[name];
  return [
    ...new Set([
      ...calls.table.map((call) => `dynamodb:${call}`),
      ...(calls.index ?? []).map((call) => `dynamodb:${call} (index)`),
      ...calls.services,
    ]),
  ].sort();
}

/** An action pattern of a policy (`dynamodb:Get*`) as a test of an action. */
const matchesAction = (pattern: string, action: string) =>
  new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i').test(action);

export interface Comparison {
  /** Needs no statement grants, each with the resources it must be granted on. */
  readonly missing: readonly string[];
  /** Granted action/resource pairs that no need accepts. */
  readonly excess: readonly string[];
}

/** (a) every need is granted on a resource it accepts; (b) every granted action and resource is accepted by some need. */
export function compare(needs: readonly Need[], statements: readonly Statement[]): Comparison {
  const allows = statements.filter((s) => s.Effect === 'Allow');
  const excess: string[] = [];
  for (const s of statements) {
    if (s.NotAction !== undefined || s.NotResource !== undefined) excess.push(`a NotAction/NotResource statement: ${JSON.stringify(s)}`);
  }
  const pairs = allows.flatMap((s) =>
    [s.Action ?? []].flat().flatMap((action) => [s.Resource ?? []].flat().map((resource) => ({ action, resource: flatten(resource), s }))),
  );
  const missing = needs
    .filter((need) => !pairs.some((p) => matchesAction(p.action, need.action) && need.accepts(p.resource, p.s)))
    .map((need) => `${need.action} on ${need.scope} (${need.why})`);
  for (const p of pairs) {
    const accepted = needs.some((need) => p.action.toLowerCase() === need.action.toLowerCase() && need.accepts(p.resource, p.s));
    if (!accepted) excess.push(`${p.action} on ${p.resource}`);
  }
  return { missing: [...new Set(missing)].sort(), excess: [...new Set(excess)].sort() };
}

/** The entry path relative to the repository root (for test names). */
export const relativeEntry = (entry: string) => path.relative(PROJECT_ROOT, entry);
