import type { z } from 'zod';
import { DeploymentSpec, type DeploymentSpecInput } from '#core/spec.ts';

/**
 * The string fields of the deployment spec, found by walking its zod schema,
 * and valid sample specs that carry each of them: what the security tests
 * put hostile values into. A field added to the schema is found here; if no
 * sample carries it, the tests say so (add it to a sample below).
 */

/** A path segment of a field pattern: an object key, `#` for any array index, `*` for any record value, `{key}` for a record key. */
export type Segment = string;

export interface StringField {
  /** e.g. `targets.tags.{key}`, `strategy.blue.tags.*`, `regionWaves.#.#`. */
  readonly pattern: readonly Segment[];
  /** A record key rather than a value. */
  readonly key: boolean;
  /** The strategy type the field belongs to (a field of one strategy's options). */
  readonly strategy?: string;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
};

const defOf = (schema: z.ZodType): Def => (schema as unknown as { def: Def }).def;

/** Every string-valued field (strings, enums, string literals, record keys) of a schema, by path pattern. */
export function stringFields(schema: z.ZodType = DeploymentSpec, at: Segment[] = [], strategy?: string): StringField[] {
  const def = defOf(schema);
  const leaf = (key = false): StringField[] => [{ pattern: at, key, ...(strategy ? { strategy } : {}) }];
  switch (def.type) {
    case 'string':
    case 'enum':
      return leaf();
    case 'literal':
      return (def.values ?? []).some((v) => typeof v === 'string') ? leaf() : [];
    case 'number':
    case 'int':
    case 'boolean':
    case 'never':
      return [];
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return stringFields(def.innerType as z.ZodType, at, strategy);
    case 'pipe': {
      // A preprocess (transform, then schema) takes what its schema takes.
      const input = def.in as z.ZodType;
      return stringFields(defOf(input).type === 'transform' ? (def.out as z.ZodType) : input, at, strategy);
    }
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, sub]) => stringFields(sub, [...at, key], strategy));
    case 'array':
      return stringFields(def.element as z.ZodType, [...at, '#'], strategy);
    case 'record':
      return [
        ...stringFields(def.keyType as z.ZodType, [...at, '{key}'], strategy).map((f) => ({ ...f, key: true })),
        ...stringFields(def.valueType as z.ZodType, [...at, '*'], strategy),
      ];
    case 'union':
      return (def.options ?? []).flatMap((option) => {
        const variant = def.discriminator ? discriminatorValue(option, def.discriminator) : strategy;
        return stringFields(option, at, at.join('.') === 'strategy' ? variant : strategy);
      });
    default:
      throw new Error(
        `the spec walker does not know zod type "${def.type}" at ${at.join('.') || '(spec)'}: teach it (test/security/spec-fields.ts)`,
      );
  }
}

/**
 * The fields that are a plain union (a count or a percentage, one size or a
 * list...): zod reports a bad value anywhere inside one at the union itself.
 * Patterns as in StringField, `#` for an array index.
 */
export function unionFields(schema: z.ZodType = DeploymentSpec, at: Segment[] = []): string[] {
  const def = defOf(schema);
  const inner = (sub: z.ZodType | undefined, path = at) => (sub ? unionFields(sub, path) : []);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return inner(def.innerType);
    case 'pipe':
      return inner(defOf(def.in as z.ZodType).type === 'transform' ? def.out : def.in);
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, sub]) => unionFields(sub, [...at, key]));
    case 'array':
      return inner(def.element, [...at, '#']);
    case 'record':
      return inner(def.valueType, [...at, '*']);
    case 'union':
      return [...(def.discriminator ? [] : [at.join('.')]), ...(def.options ?? []).flatMap((option) => unionFields(option, at))];
    default:
      return [];
  }
}

function discriminatorValue(option: z.ZodType, discriminator: string): string | undefined {
  const field = defOf(option).shape?.[discriminator];
  const value = field ? defOf(field).values?.[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Where a field pattern lands in a sample: concrete paths (every record key, index 0 of arrays). */
export interface Placement {
  readonly path: readonly (string | number)[];
  readonly key: boolean;
}

/**
 * The concrete paths of a pattern in a sample. With `addLast`, the last object
 * key may be absent (the value is then added), so that a new field of an
 * object the samples have needs no sample of its own.
 */
export function placements(sample: unknown, field: StringField, options: { addLast?: boolean } = {}): Placement[] {
  const out: Placement[] = [];
  const walk = (node: unknown, rest: readonly Segment[], path: (string | number)[]): void => {
    const [head, ...tail] = rest;
    if (head === undefined) {
      out.push({ path, key: field.key });
      return;
    }
    if (head === '#') {
      if (Array.isArray(node) && node.length > 0) walk(node[0], tail, [...path, 0]);
      return;
    }
    if (!isObject(node)) return;
    if (head === '*' || head === '{key}') {
      for (const key of Object.keys(node)) walk(node[key], tail, [...path, key]);
      return;
    }
    if (Object.hasOwn(node, head)) walk(node[head], tail, [...path, head]);
    else if (options.addLast && tail.length === 0 && !field.key) out.push({ path: [...path, head], key: false });
  };
  walk(sample, field.pattern, []);
  return out;
}

/** A copy of `sample` with `value` at `placement` (as the key itself when the placement is a record key). */
export function place(sample: unknown, placement: Placement, value: unknown): Record<string, unknown> {
  const copy = structuredClone(sample) as Record<string, unknown>;
  const parentPath = placement.path.slice(0, -1);
  const last = placement.path.at(-1) as string | number;
  let parent: Record<string | number, unknown> = copy;
  for (const step of parentPath) parent = parent[step] as Record<string | number, unknown>;
  if (placement.key) {
    const kept = parent[last];
    delete parent[last];
    // defineProperty: a key such as __proto__ becomes a real key, as JSON.parse makes it.
    Object.defineProperty(parent, String(value), { value: kept, enumerable: true, writable: true, configurable: true });
  } else {
    parent[last] = value;
  }
  return copy;
}

/** The error field a value at `placement` is reported under (`fieldErrors[].field`). */
export function fieldOf(placement: Placement, value: string): string {
  const path = placement.key ? [...placement.path.slice(0, -1), value] : placement.path;
  return path.map(String).join('.');
}

/** The value at a path of a parsed spec (for a record key: the key, if the record kept it). */
export function valueAt(spec: unknown, placement: Placement, value: string): unknown {
  const path = placement.key ? [...placement.path.slice(0, -1)] : placement.path;
  let node: unknown = spec;
  for (const step of path) node = isObject(node) || Array.isArray(node) ? (node as Record<string | number, unknown>)[step] : undefined;
  if (placement.key) return isObject(node) && Object.hasOwn(node, value) ? value : undefined;
  return node;
}

/**
 * Fields that take free text, and where it goes: nowhere near a shell. Any
 * other string field must refuse shell metacharacters (the injection test
 * checks both).
 */
export const FREE_TEXT: readonly { readonly field: RegExp; readonly goes: string }[] = [
  { field: /^requestedBy$/, goes: 'the record and the audit trail (the API replaces it with the IAM caller)' },
  { field: /^gates\.alarms\.(names\.\d+|prefix)$/, goes: 'CloudWatch DescribeAlarms, as alarm names' },
  { field: /^(targets|strategy\.(blue|green))\.tags\./, goes: 'SendCommand Targets (tag:key = value), matched against host tags' },
  { field: /^changeTicket$/, goes: 'the record only (of the metacharacters it takes #, as in CHG#123)' },
  {
    field: /^(command|rollbackCommand|strategy\.validationCommand)\.parameters\.commands\.\d+$/,
    goes: "AWS-RunShellScript's script: the author's own code by design (IAM decides who may deploy)",
  },
];

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ARNS = {
  listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/0123456789abcdef',
  blueTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/0123456789abcdef',
  greenTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/0123456789abcdef',
};

/** Valid specs that between them carry every field of the schema, every strategy and every parameter of every document. */
export const SAMPLES: readonly DeploymentSpecInput[] = [
  {
    deploymentId: 'sample-rolling',
    app: 'web',
    environment: 'prod',
    version: '1.2.3',
    previousVersion: '1.2.2',
    targets: { tags: { Role: 'web' } },
    command: {
      document: 'Deployctl-DeployApplication',
      parameters: { app: ['web'], environment: ['prod'], version: ['1.2.3'], action: ['deploy'] },
    },
    rollbackCommand: {
      document: 'AWS-RunShellScript',
      parameters: { commands: ['./undo.sh'], workingDirectory: ['/opt/web'], executionTimeout: ['600'] },
    },
    strategy: { type: 'rolling', batchSize: [1, '10%'], pauseSeconds: 0, maxErrors: '10%', minHealthy: '50%' },
    gates: { alarms: { names: ['web-5xx'] }, approval: 'firstWave' },
    onFailure: 'rollback',
    regions: ['eu-west-1', 'us-east-1'],
    regionPolicy: { onFailure: 'stop' },
    requestedBy: 'alice',
    changeTicket: 'CHG-1234',
    priority: 'high',
    commitTime: '2026-03-01T09:30:00Z',
    rollbackOf: 'sample-earlier',
  },
  {
    // Alone: the cron and time zone checks cost more than the rest of a spec.
    app: 'web',
    environment: 'prod',
    version: '1.2.3',
    targets: { tags: { Role: 'web' } },
    window: {
      cron: '0 2 * * 6',
      durationMinutes: 120,
      timezone: 'Europe/Paris',
      blackoutDates: ['2026-12-24'],
      changeCalendar: 'prod-calendar',
      outside: 'wait',
    },
  },
  {
    app: 'batch',
    environment: 'staging',
    version: '2.0.0',
    targets: { instanceIds: ['i-0123456789abcdef0'] },
    command: {
      document: 'AWS-ApplyAnsiblePlaybooks',
      parameters: {
        SourceType: ['S3'],
        SourceInfo: ['{"path":"https://s3.amazonaws.com/bucket/playbooks/"}'],
        InstallDependencies: ['True'],
        PlaybookFile: ['site/main.yml'],
        ExtraVariables: ['color=red size=2'],
        Check: ['False'],
        Verbose: ['-v'],
        TimeoutSeconds: ['3600'],
      },
    },
    strategy: { type: 'canary', stages: [10, 100], bakeSeconds: 60 },
    gates: { alarms: { prefix: 'batch-' } },
    regionWaves: [['eu-west-1'], ['us-east-1']],
  },
  {
    app: 'os',
    environment: 'prod',
    version: '2026-11',
    targets: { resourceGroup: 'patch-group' },
    command: {
      document: 'AWS-RunPatchBaseline',
      parameters: {
        Operation: ['Install'],
        SnapshotId: ['0b6d5c2a-1e1f-4a9e-9c4c-6a1f0e0f0a11'],
        InstallOverrideList: ['s3://bucket/overrides.yaml'],
        BaselineOverride: ['https://example.com/baseline.json'],
        RebootOption: ['NoReboot'],
        AssociationId: ['0b6d5c2a-1e1f-4a9e-9c4c-6a1f0e0f0a12'],
      },
    },
    strategy: { type: 'linear', stepPercent: 25, intervalSeconds: 0 },
    parent: { deploymentId: 'sample-parent', region: 'eu-west-1', phase: 'deploy' },
  },
  {
    app: 'shop',
    environment: 'prod',
    version: '3.1.0',
    targets: { tags: { app: 'shop' } },
    strategy: {
      type: 'blueGreen',
      blue: { tags: { color: 'blue' } },
      green: { instanceIds: ['i-0123456789abcdef2'] },
      ...ARNS,
      trafficSteps: [50, 100],
      validationCommand: { document: 'AWS-RunShellScript', parameters: { commands: ['./smoke.sh'] } },
    },
  },
  {
    app: 'shop',
    environment: 'test',
    version: '3.1.0',
    targets: { tags: { app: 'shop' } },
    strategy: {
      type: 'blueGreen',
      blue: { instanceIds: ['i-0123456789abcdef1'] },
      green: { resourceGroup: 'shop-green' },
      ...ARNS,
    },
  },
  {
    app: 'shop',
    environment: 'dev',
    version: '3.1.0',
    targets: { tags: { app: 'shop' } },
    strategy: { type: 'blueGreen', blue: { resourceGroup: 'shop-blue' }, green: { tags: { color: 'green' } }, ...ARNS },
  },
  {
    app: 'tool',
    environment: 'dev',
    version: '0.1.0',
    targets: { tags: { app: 'tool' } },
    strategy: { type: 'allAtOnce', maxErrors: 1 },
  },
];
