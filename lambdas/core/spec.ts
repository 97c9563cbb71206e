import { Cron } from 'croner';
import { z } from 'zod';

/**
 * The deployment spec: the one input of every entry point (CLI, API, state
 * machines, local runner). Values that reach hosts are restricted to safe
 * character sets here, and again by the SSM document's allowedPattern.
 */

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const INSTANCE_ID = /^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const PERCENT = /^(\d{1,3}(\.\d+)?)%$/;

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

const TagFilter = z.record(
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

export const Command = z
  .object({
    document: z.union([z.enum(ALLOWED_AWS_DOCUMENTS), z.literal(DEPLOY_DOCUMENT)]).default(DEPLOY_DOCUMENT),
    parameters: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'parameter names are alphanumeric'), z.array(ParameterValue).max(100))
      .default({}),
    timeoutSeconds: z.number().int().min(30).max(172_800).default(600),
  })
  .strict();
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
      listenerArn: z.string().startsWith('arn:'),
      blueTargetGroupArn: z.string().startsWith('arn:'),
      greenTargetGroupArn: z.string().startsWith('arn:'),
      /** The green weights of the traffic shift, in percent: whole, increasing, ending at 100. */
      trafficSteps: z
        .array(z.number().int('traffic steps are whole percentages').min(1).max(100))
        .min(1)
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
    names: z.array(z.string().min(1).max(255)).max(100).optional(),
    prefix: z.string().min(1).max(255).optional(),
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

function timezoneIsValid(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
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
      .refine((tz) => timezoneIsValid(tz), 'not an IANA time zone (for example Europe/Paris or UTC)')
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

const Region = z.string().regex(REGION, 'must be an AWS region such as eu-west-1');

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
    window: Window.optional(),
    regions: z.array(Region).min(1).max(30).optional(),
    regionWaves: z.array(z.array(Region).min(1)).min(1).max(30).optional(),
    requestedBy: z.string().min(1).max(256).default('unknown'),
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
  .refine((s) => !(s.regions && s.regionWaves), { message: 'give regions or regionWaves, not both', path: ['regionWaves'] });

export type DeploymentSpecInput = z.input<typeof DeploymentSpec>;
export type DeploymentSpec = z.output<typeof DeploymentSpec>;

/** One problem with one field, as users see it. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class InvalidSpec extends Error {
  constructor(
    readonly fieldErrors: readonly FieldError[],
    options?: ErrorOptions,
  ) {
    super(`invalid deployment spec: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, options);
    this.name = 'InvalidSpec';
  }
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
