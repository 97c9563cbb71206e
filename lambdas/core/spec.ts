import { Cron } from 'croner';
import * as z from 'zod';
import { InvalidSpec } from './errors.ts';
import { isTimeZone } from './schedule.ts';

/**
 * The deployment spec: the one input of every entry point (CLI, API, state
 * machines, local runner). Values that reach hosts are restricted to safe
 * character sets here, and again by the SSM document's allowedPattern.
 */

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const INSTANCE_ID = /^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/;
const PERCENT = /^(\d{1,3}(\.\d+)?)%$/;
const LISTENER_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/(app|net)\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}\/[0-9a-f]{1,32}$/;
/** A Network Load Balancer listener: its forward action takes a single target group, so it cannot shift weighted traffic. */
const NLB_LISTENER_ARN = /:listener\/net\//;
const NLB_LISTENER_RULE =
  'a Network Load Balancer listener (listener/net/...) cannot shift traffic between blue and green: weighted forwarding to several target groups is an Application Load Balancer feature (an NLB forward action takes a single target group); give an Application Load Balancer listener (listener/app/...)';
const TARGET_GROUP_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}$/;
/** Free text that is shown and logged: no control characters, line breaks or invisible formatting (bidi overrides). */
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;
const PRINTABLE_RULE = 'no control characters, line breaks or invisible formatting characters';

/** A count of hosts (`3`) or a share of the fleet (`"25%"`). */
export const CountOrPercent = z.union([
  z.number().int('must be a whole number of hosts').min(0),
  z
    .string()
    .regex(PERCENT, 'must be a whole number or a percentage such as "25%"')
    .refine((s) => Number.parseFloat(s) <= 100, 'a percentage cannot exceed 100%'),
]);
export type CountOrPercent = z.infer<typeof CountOrPercent>;

const PositiveCountOrPercent = CountOrPercent.refine(
  (v) => (typeof v === 'number' ? v >= 1 : Number.parseFloat(v) > 0),
  'must be at least 1 host or more than 0%',
);

const TagFilter = z.preprocess(
  (tags, ctx) => {
    // zod drops a __proto__ key from a record without a word: the filter would match more hosts than asked.
    if (tags && typeof tags === 'object' && Object.hasOwn(tags, '__proto__')) {
      ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'a tag key cannot be __proto__', input: tags });
    }
    return tags;
  },
  z.record(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\w .:/=+@-]+$/, 'tag keys use letters, digits and _ .:/=+@-'),
    z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\w .:/=+@-]+$/, 'tag values use letters, digits and _ .:/=+@-'),
  ),
);

export const Targets = z
  .object({
    tags: TagFilter.optional(),
    instanceIds: z
      .array(z.string().regex(INSTANCE_ID, 'must be an EC2 (i-...) or managed (mi-...) instance id'))
      .min(1)
      .max(20_000)
      .optional(),
    resourceGroup: z.string().regex(SAFE_NAME).optional(),
  })
  .strict()
  .refine(
    (t) => [t.tags, t.instanceIds, t.resourceGroup].filter((x) => x !== undefined).length === 1,
    'give exactly one of tags, instanceIds or resourceGroup',
  )
  .refine((t) => t.tags === undefined || Object.keys(t.tags).length > 0, {
    message: 'tags needs at least one key',
    path: ['tags'],
  });
export type Targets = z.infer<typeof Targets>;

/** SSM Command documents the orchestrator may run. */
export const ALLOWED_AWS_DOCUMENTS = ['AWS-RunShellScript', 'AWS-ApplyAnsiblePlaybooks', 'AWS-RunPatchBaseline'] as const;
export const DEPLOY_DOCUMENT = 'Deployctl-DeployApplication';

const ParameterValue = z
  .string()
  .max(4096)
  .refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

/** One parameter a document declares: the pattern each value must match, as SSM's allowedPattern (or tighter). */
export interface DocumentParameter {
  readonly pattern: RegExp;
  /** What the pattern allows, for error messages. */
  readonly rule: string;
  /** A StringList: 1 to 100 values; otherwise exactly one. */
  readonly list?: boolean;
  /** The value is a shell script by design (AWS-RunShellScript's commands): whoever may deploy may run it. */
  readonly code?: boolean;
}

const NO_DOT_DOT = String.raw`(?!(.*/)?\.\.(/|$))`;
const HTTPS_OR_S3 = /^$|^(https|s3):\/\/[A-Za-z0-9._~/%+=:@-]+$/;
const UUID = /^$|^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$/;
const TRUE_FALSE = { pattern: /^(True|False)$/, rule: 'True or False' };

/**
 * The parameters of each document the orchestrator may send, and nothing
 * else: spec values reach hosts only as these, each checked here with the
 * field named (SSM checks its own allowedPattern again at SendCommand).
 */
export const DOCUMENT_PARAMETERS: Readonly<
  Record<(typeof ALLOWED_AWS_DOCUMENTS)[number] | typeof DEPLOY_DOCUMENT, Readonly<Record<string, DocumentParameter>>>
> = {
  [DEPLOY_DOCUMENT]: {
    app: { pattern: SAFE_NAME, rule: 'letters, digits, . _ - (at most 63)' },
    environment: { pattern: SAFE_NAME, rule: 'letters, digits, . _ - (at most 63)' },
    version: { pattern: SAFE_VERSION, rule: 'letters, digits, . _ + - (at most 128)' },
    action: { pattern: /^(deploy|rollback)$/, rule: 'deploy or rollback' },
  },
  'AWS-RunShellScript': {
    commands: { pattern: /^[^\0]*$/, rule: 'a shell script line', list: true, code: true },
    workingDirectory: {
      pattern: new RegExp(`^${NO_DOT_DOT}[A-Za-z0-9._/-]{0,1024}$`),
      rule: 'a path of letters, digits and . _ / - without ..',
    },
    executionTimeout: { pattern: /^([1-9][0-9]{0,4}|1[0-6][0-9]{4}|17[01][0-9]{3}|172[0-7][0-9]{2}|172800)$/, rule: '1 to 172800 seconds' },
  },
  'AWS-ApplyAnsiblePlaybooks': {
    SourceType: { pattern: /^(GitHub|S3)$/, rule: 'GitHub or S3' },
    SourceInfo: {
      // No {{ssm:...}} (SSM would put a Parameter Store value in); a GitHub tokenInfo may name a {{ssm-secure:...}} one.
      pattern: /^\{([^\n\r;|&$`<>\\{}]|\{\{ssm-secure:[\w./-]{1,1011}\}\}){0,4094}\}$/,
      rule: 'a JSON object without ; | & $ ` < > \\, braces or line breaks ({{ssm-secure:name}} aside)',
    },
    InstallDependencies: TRUE_FALSE,
    PlaybookFile: {
      pattern: new RegExp(`^${NO_DOT_DOT}[A-Za-z0-9._/-]{1,1024}\\.ya?ml$`),
      rule: 'a .yml or .yaml path of letters, digits and . _ / - without ..',
    },
    ExtraVariables: {
      pattern: /^$|^[A-Za-z_]\w*=[\w.,/@%+=-]+( [A-Za-z_]\w*=[\w.,/@%+=-]+)*$/,
      rule: 'name=value pairs separated by spaces, values of letters, digits and . , / @ % + = - _',
    },
    Check: TRUE_FALSE,
    Verbose: { pattern: /^-v{1,4}$/, rule: '-v, -vv, -vvv or -vvvv' },
    TimeoutSeconds: { pattern: /^[1-9][0-9]{0,5}$/, rule: 'a whole number of seconds' },
  },
  'AWS-RunPatchBaseline': {
    Operation: { pattern: /^(Scan|Install)$/, rule: 'Scan or Install' },
    SnapshotId: { pattern: UUID, rule: 'a UUID' },
    InstallOverrideList: { pattern: HTTPS_OR_S3, rule: 'an https:// or s3:// URL of letters, digits and . _ ~ / % + = : @ -' },
    BaselineOverride: { pattern: HTTPS_OR_S3, rule: 'an https:// or s3:// URL of letters, digits and . _ ~ / % + = : @ -' },
    RebootOption: { pattern: /^(RebootIfNeeded|NoReboot)$/, rule: 'RebootIfNeeded or NoReboot' },
    AssociationId: { pattern: UUID, rule: 'a UUID' },
  },
};

export const Command = z
  .object({
    document: z.union([z.enum(ALLOWED_AWS_DOCUMENTS), z.literal(DEPLOY_DOCUMENT)]).default(DEPLOY_DOCUMENT),
    parameters: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'parameter names are alphanumeric'), z.array(ParameterValue).max(100))
      .default({}),
    timeoutSeconds: z.number().int().min(30).max(172_800).default(600),
  })
  .strict()
  .superRefine((command, ctx) => {
    const declared = DOCUMENT_PARAMETERS[command.document];
    for (const [name, values] of Object.entries(command.parameters)) {
      const parameter = Object.hasOwn(declared, name) ? declared[name] : undefined;
      if (!parameter) {
        const names = Object.keys(declared).join(', ');
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', name],
          message: `${command.document} has no parameter ${name}; it takes ${names}`,
        });
        continue;
      }
      if (parameter.list ? values.length === 0 : values.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['parameters', name],
          message: parameter.list ? 'give at least one value' : 'give exactly one value',
        });
      }
      values.forEach((value, i) => {
        if (!parameter.pattern.test(value))
          ctx.addIssue({ code: 'custom', path: ['parameters', name, i], message: `use ${parameter.rule}` });
      });
    }
  });
export type Command = z.infer<typeof Command>;

const Common = {
  maxErrors: CountOrPercent.default(0),
  minHealthy: CountOrPercent.optional(),
};

export const Strategy = z.discriminatedUnion('type', [
  z.object({ type: z.literal('allAtOnce'), ...Common }).strict(),
  z
    .object({
      type: z.literal('rolling'),
      /** One size for every batch, or a list (the last size repeats), as Ansible's serial. */
      batchSize: z.union([PositiveCountOrPercent, z.array(PositiveCountOrPercent).min(1).max(100)]).default('25%'),
      pauseSeconds: z.number().int().min(0).max(86_400).default(0),
      ...Common,
    })
    .strict(),
  z
    .object({
      type: z.literal('canary'),
      stages: z
        .array(z.number().gt(0).max(100))
        .min(1)
        .max(20)
        .default([10, 50, 100])
        .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] ?? 0)), 'stages must increase')
        .refine((s) => s.at(-1) === 100, 'the last stage must be 100'),
      bakeSeconds: z.number().int().min(0).max(86_400).default(300),
      ...Common,
    })
    .strict(),
  z
    .object({
      type: z.literal('linear'),
      stepPercent: z.number().gt(0).max(100).default(10),
      intervalSeconds: z.number().int().min(0).max(86_400).default(300),
      ...Common,
    })
    .strict(),
  z
    .object({
      type: z.literal('blueGreen'),
      blue: Targets,
      green: Targets,
      // The shape admits listener/net/ so that the API model lets it through and the handler answers with the reason below.
      listenerArn: z
        .string()
        .regex(LISTENER_ARN, 'must be an application load balancer listener ARN (listener/app/...)')
        .refine((arn) => !NLB_LISTENER_ARN.test(arn), NLB_LISTENER_RULE),
      blueTargetGroupArn: z.string().regex(TARGET_GROUP_ARN, 'must be a target group ARN'),
      greenTargetGroupArn: z.string().regex(TARGET_GROUP_ARN, 'must be a target group ARN'),
      /** The green weights of the traffic shift, in percent: whole, increasing, ending at 100. */
      trafficSteps: z
        .array(z.number().int('traffic steps are whole percentages').min(1).max(100))
        .min(1)
        .max(100)
        .default([100])
        .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] ?? 0)), 'traffic steps must increase')
        .refine((s) => s.at(-1) === 100, 'the last traffic step must be 100'),
      /** Run on green after the deploy, before any traffic moves. */
      validationCommand: Command.optional(),
      keepBlueSeconds: z.number().int().min(0).max(604_800).default(3600),
      ...Common,
    })
    .strict(),
]);
export type Strategy = z.infer<typeof Strategy>;

export const Alarms = z
  .object({
    names: z.array(z.string().min(1).max(255).regex(PRINTABLE, PRINTABLE_RULE)).max(100).optional(),
    prefix: z.string().min(1).max(255).regex(PRINTABLE, PRINTABLE_RULE).optional(),
  })
  .strict();

export const Gates = z
  .object({
    alarms: Alarms.default({}),
    bakeSeconds: z.number().int().min(0).max(86_400).default(0),
    approval: z.enum(['none', 'firstWave', 'everyWave']).default('none'),
  })
  .strict();
export type Gates = z.infer<typeof Gates>;

function cronIsValid(cron: string): boolean {
  try {
    new Cron(cron, { paused: true });
    return true;
  } catch {
    return false;
  }
}

export const Window = z
  .object({
    /** Five-field cron expression: when the window opens. */
    cron: z
      .string()
      .min(9)
      .max(100)
      .refine((cron) => cronIsValid(cron), 'not a valid cron expression (five fields: minute hour day-of-month month day-of-week)'),
    durationMinutes: z.number().int().min(1).max(10_080),
    timezone: z
      .string()
      .min(1)
      .max(64)
      .refine((tz) => isTimeZone(tz), 'not an IANA time zone (for example Europe/Paris or UTC)')
      .default('UTC'),
    blackoutDates: z
      .array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'dates are YYYY-MM-DD'))
      .max(366)
      .default([]),
    changeCalendar: z.string().regex(SAFE_NAME).optional(),
    /** What to do when a deployment is requested outside its window. */
    outside: z.enum(['refuse', 'wait']).default('refuse'),
  })
  .strict();
export type Window = z.infer<typeof Window>;

/** An AWS region name (eu-west-1, us-gov-west-1): the one rule for a region, in specs and in the CDK app's settings. */
export const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
/** A region name, checked by {@link AWS_REGION}. */
export const Region = z.string().regex(AWS_REGION, 'must be an AWS region such as eu-west-1');

/** Multi-region: how the control region goes from one region wave to the next. */
export const RegionPolicy = z
  .object({
    /** A region that fails: `stop` the later waves (the default), or also `rollbackAll` the regions already done. */
    onFailure: z.enum(['stop', 'rollbackAll']).default('stop'),
    /** Wait between region waves. */
    bakeSeconds: z.number().int().min(0).max(86_400).default(0),
    /** How long the control region waits for a region's "Regional Deployment Completed" (default 25 h: a regional execution lasts at most 24 h). */
    timeoutSeconds: z.number().int().min(30).max(90_000).default(90_000),
  })
  .strict();
export type RegionPolicy = z.output<typeof RegionPolicy>;

/** Set by the control region on the spec it sends to one region: the deployment it belongs to. */
export const ParentRef = z
  .object({
    deploymentId: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
    region: Region,
    /** The regional deployment itself, or the roll-back-all policy's rollback of it. */
    phase: z.enum(['deploy', 'rollback']),
  })
  .strict();
export type ParentRef = z.infer<typeof ParentRef>;

export const DeploymentSpec = z
  .object({
    deploymentId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/, 'use 1 to 80 letters, digits, - or _ (it is also the execution name)')
      .optional(),
    app: z.string().regex(SAFE_NAME, 'use letters, digits, . _ - (at most 63)'),
    environment: z.string().regex(SAFE_NAME, 'use letters, digits, . _ - (at most 63)'),
    version: z.string().regex(SAFE_VERSION, 'use letters, digits, . _ + - (at most 128)'),
    previousVersion: z.string().regex(SAFE_VERSION, 'use letters, digits, . _ + - (at most 128)').optional(),
    targets: Targets,
    command: Command.default({ document: DEPLOY_DOCUMENT, parameters: {}, timeoutSeconds: 600 }),
    rollbackCommand: Command.optional(),
    strategy: Strategy.default({ type: 'rolling', batchSize: '25%', pauseSeconds: 0, maxErrors: 0 }),
    gates: Gates.default({ alarms: {}, bakeSeconds: 0, approval: 'none' }),
    /**
     * What a failed gate (error budget, validation or alarm) does: `rollback`
     * the hosts already changed (the default), `pause` and wait for a human
     * (`resume` goes on to the next wave, `abort` rolls back), or `abort`
     * at once, leaving the hosts as they are (the deployment ends FAILED).
     */
    onFailure: z.enum(['rollback', 'pause', 'abort']).default('rollback'),
    window: Window.optional(),
    regions: z.array(Region).min(1).max(30).optional(),
    regionWaves: z.array(z.array(Region).min(1).max(30)).min(1).max(30).optional(),
    regionPolicy: RegionPolicy.optional(),
    /** Set on a regional deployment the control region started (multi-region): the parent deployment. */
    parent: ParentRef.optional(),
    requestedBy: z.string().min(1).max(256).regex(PRINTABLE, PRINTABLE_RULE).default('unknown'),
    changeTicket: z
      .string()
      .regex(/^[A-Za-z0-9_.#-]{1,64}$/)
      .optional(),
    priority: z.enum(['low', 'normal', 'high', 'emergency']).default('normal'),
    /**
     * When the change being deployed was committed: ISO 8601 date-time with a
     * UTC designator or offset (2026-03-01T09:30:00Z, 2026-03-01T10:30:00+01:00).
     * Optional; it gives the DORA lead time for changes (commit to successful
     * deployment), which is not measured for deployments without it.
     */
    commitTime: z.iso
      .datetime({ offset: true, error: 'use an ISO 8601 date-time with Z or an offset, such as 2026-03-01T09:30:00Z' })
      .optional(),
    /** Set on a manual rollback: the deployment it undoes. */
    rollbackOf: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/)
      .optional(),
  })
  .strict()
  .refine((s) => !(s.regions && s.regionWaves), { message: 'give regions or regionWaves, not both', path: ['regionWaves'] })
  .refine((s) => new Set([s.regions ?? [], s.regionWaves ?? []].flat(2)).size === [s.regions ?? [], s.regionWaves ?? []].flat(2).length, {
    message: 'a region may appear only once',
    path: ['regions'],
  })
  .refine((s) => !s.regionPolicy || s.regions || s.regionWaves, {
    message: 'regionPolicy needs regions or regionWaves',
    path: ['regionPolicy'],
  })
  .refine((s) => !(s.parent && (s.regions || s.regionWaves)), { message: 'a regional deployment cannot fan out again', path: ['parent'] });

export type DeploymentSpecInput = z.input<typeof DeploymentSpec>;
export type DeploymentSpec = z.output<typeof DeploymentSpec>;

/** One problem with one field, as users see it. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(spec)',
    message: issue.message,
  }));
}

/** Parses a spec or throws InvalidSpec listing every field at fault. */
export function parseSpec(input: unknown): DeploymentSpec {
  const result = DeploymentSpec.safeParse(input);
  if (!result.success) throw new InvalidSpec(toFieldErrors(result.error), { cause: result.error });
  return result.data;
}

/** The parameters the deploy command receives for a given version. */
export function commandFor(spec: DeploymentSpec, kind: 'deploy' | 'rollback'): Command | undefined {
  if (kind === 'deploy') {
    return spec.command.document === DEPLOY_DOCUMENT
      ? {
          ...spec.command,
          parameters: {
            ...spec.command.parameters,
            app: [spec.app],
            environment: [spec.environment],
            version: [spec.version],
            action: ['deploy'],
          },
        }
      : spec.command;
  }
  if (spec.rollbackCommand) return spec.rollbackCommand;
  if (spec.previousVersion === undefined) return undefined;
  if (spec.command.document !== DEPLOY_DOCUMENT) return undefined;
  return {
    ...spec.command,
    parameters: {
      ...spec.command.parameters,
      app: [spec.app],
      environment: [spec.environment],
      version: [spec.previousVersion],
      action: ['rollback'],
    },
  };
}
