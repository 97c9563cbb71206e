import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { UnsupportedCron } from '#core/errors.ts';
import { DeploymentSpec, type DeploymentSpecInput, toFieldErrors } from '../lambdas/core/spec.ts';

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
/** Indexed by the five-field cron's day number (0 = Sunday); EventBridge numbers them 1 (SUN) to 7 (SAT). */
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for the values from `min` on (JAN..., SUN...). */
  readonly names?: readonly string[];
}
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS };
/** 7 is Sunday too, as in five-field cron. */
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAYS };

/** One comma-separated item: `*`, `*\/step`, `value`, `from-to` or `from-to/step`. */
const ITEM = /^(?:(\*)|([A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?)(?:\/(\d+))?$/;

type Item = { readonly kind: 'all'; readonly step?: number } | { readonly kind: 'values'; readonly values: number[] };

function value(cron: string, field: FieldSpec, text: string): number {
  const index = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = index >= 0 ? field.min + index : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= field.min && n <= field.max))
    throw new UnsupportedCron(
      cron,
      `${field.name}: ${text} is not a value from ${field.min} to ${field.max}${field.names ? ' or a name' : ''}`,
    );
  return n;
}

function parseItem(cron: string, field: FieldSpec, item: string): Item {
  const match = ITEM.exec(item);
  if (!match) throw new UnsupportedCron(cron, `${field.name}: "${item}" is not a value, a range, * or a step`);
  const [, star, from, to, stepText] = match;
  const step = stepText === undefined ? undefined : Number(stepText);
  if (step !== undefined && !(step >= 1 && step <= field.max))
    throw new UnsupportedCron(cron, `${field.name}: step ${stepText} must be from 1 to ${field.max}`);
  if (star) return step === undefined ? { kind: 'all' } : { kind: 'all', step };
  const start = value(cron, field, from as string);
  if (to === undefined && step !== undefined)
    throw new UnsupportedCron(cron, `${field.name}: "${item}": a step needs * or a range before it (*/${step} or a-b/${step})`);
  const end = to === undefined ? start : value(cron, field, to);
  if (end < start) throw new UnsupportedCron(cron, `${field.name}: the range ${item} runs backwards`);
  const values: number[] = [];
  for (let n = start; n <= end; n += step ?? 1) values.push(n);
  return { kind: 'values', values };
}

/** Minute, hour, day-of-month or month: `*`, steps from the field's first value, ranges and lists, all numeric. */
function numericField(cron: string, field: FieldSpec, text: string): string {
  const items = text.split(',').map((item) => parseItem(cron, field, item));
  if (items.length > 1 && items.some((i) => i.kind === 'all')) throw new UnsupportedCron(cron, `${field.name}: * cannot be part of a list`);
  const [first] = items;
  if (first?.kind === 'all') return first.step === undefined ? '*' : `${field.min}/${first.step}`;
  return compress([...new Set(items.flatMap((i) => (i.kind === 'values' ? i.values : [])))].sort((a, b) => a - b)).join(',');
}

/** Sorted values as a list in which runs of three or more are ranges. */
function compress(values: readonly number[], show: (n: number) => string = String): string[] {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] as number) + 1) j++;
    const [a, b] = [values[i] as number, values[j] as number];
    if (j - i >= 2) parts.push(`${show(a)}-${show(b)}`);
    else for (let k = i; k <= j; k++) parts.push(show(values[k] as number));
    i = j + 1;
  }
  return parts;
}

function dayOfMonth(cron: string, text: string): string {
  const upper = text.toUpperCase();
  if (upper === 'L' || upper === 'LW') return upper;
  const weekday = /^(\d{1,2})W$/.exec(upper);
  if (weekday) return `${value(cron, DAY_OF_MONTH, weekday[1] as string)}W`;
  if (/[LW]/.test(upper)) throw new UnsupportedCron(cron, `day-of-month: "${text}": L and W stand alone (L, LW or nW)`);
  return numericField(cron, DAY_OF_MONTH, text);
}

/** EventBridge's day number: 1 (SUN) to 7 (SAT). */
const eventBridgeDay = (day: number) => (day % 7) + 1;

function dayOfWeek(cron: string, text: string): string {
  const nth = /^([A-Za-z0-9]+)#(\d)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new UnsupportedCron(cron, `day-of-week: "${text}": the occurrence after # must be from 1 to 5`);
    return `${eventBridgeDay(value(cron, DAY_OF_WEEK, nth[1] as string))}#${n}`;
  }
  if (text.toUpperCase() === 'L') throw new UnsupportedCron(cron, 'day-of-week: L needs a day before it (for example 5L, the last Friday)');
  const last = /^([A-Za-z0-9]+?)L$/i.exec(text);
  if (last) return `${eventBridgeDay(value(cron, DAY_OF_WEEK, last[1] as string))}L`;
  if (/[#]/.test(text) || /L$|L,/i.test(text))
    throw new UnsupportedCron(cron, `day-of-week: "${text}": # and L stand alone (for example FRI#2 or 5L)`);
  // EventBridge takes no step in day-of-week: every day is listed by name.
  const days = new Set<number>();
  for (const item of text.split(',').map((i) => parseItem(cron, DAY_OF_WEEK, i))) {
    const values =
      item.kind === 'all' ? Array.from({ length: Math.ceil(7 / (item.step ?? 1)) }, (_, i) => i * (item.step ?? 1)) : item.values;
    for (const day of values) days.add(day % 7);
  }
  return compress(
    [...days].sort((a, b) => a - b),
    (day) => DAYS[day] as string,
  ).join(',');
}

/**
 * Converts a five-field cron (minute hour day-of-month month day-of-week, as
 * in `spec.window.cron`) to EventBridge Scheduler's six-field
 * `cron(minutes hours day-of-month month day-of-week year)`: one of the two
 * day fields becomes `?`, days of the week are named (EventBridge numbers them
 * from 1, SUN, and takes no step there), steps start at the field's first
 * value, and stepped ranges become lists. Macros such as `@daily` are
 * accepted.
 *
 * @throws UnsupportedCron for what Scheduler cannot express, above all a
 * day-of-month and a day-of-week together (cron runs on either; Scheduler takes one).
 */
export function toSchedulerCron(cron: string): string {
  const trimmed = cron.trim();
  const fields = (MACROS[trimmed.toLowerCase()] ?? trimmed).split(/\s+/);
  if (fields.length !== 5)
    throw new UnsupportedCron(cron, `give five fields (minute hour day-of-month month day-of-week), not ${fields.length}`);
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  if (!anyDom && !anyDow) {
    throw new UnsupportedCron(
      cron,
      'a day-of-month and a day-of-week together (cron runs on either day) cannot be expressed by EventBridge Scheduler: give * for one of them, or use two windows',
    );
  }
  const [day, weekday] = anyDow ? [anyDom ? '*' : dayOfMonth(cron, dom), '?'] : ['?', dayOfWeek(cron, dow)];
  return `cron(${numericField(cron, MINUTE, minute)} ${numericField(cron, HOUR, hour)} ${day} ${numericField(cron, MONTH, month)} ${weekday} *)`;
}

/** A spec a schedule starts: no deploymentId, as each opening is a new deployment. */
export type ScheduledSpec = Omit<DeploymentSpecInput, 'deploymentId'>;

/** A maintenance window whose every opening starts a deployment. */
export interface MaintenanceWindow {
  /** The schedule's name: 1 to 64 of A-Z a-z 0-9 . _ -, unique in the construct. */
  readonly name: string;
  /** When the window opens: a five-field cron, as `spec.window.cron` (see {@link toSchedulerCron}). */
  readonly cron: string;
  /**
   * The IANA time zone of the cron (for example Europe/Paris).
   * @default - the spec's `window.timezone`, else UTC
   */
  readonly timezone?: string;
  /**
   * Lets Scheduler start up to this many minutes after the opening (1 to 1440); less than the spec's window duration.
   * @default - starts at the opening
   */
  readonly flexibleWindowMinutes?: number;
  /**
   * The deployment to start, as stored in the schedule (values must be literals, as it is checked at synthesis).
   * `requestedBy` defaults to `scheduler:<name>`.
   */
  readonly spec: ScheduledSpec;
  /** @default - names the app, environment and strategy */
  readonly description?: string;
}

export interface MaintenanceWindowSchedulesProps {
  /** The windows; at least one. */
  readonly windows: readonly MaintenanceWindow[];
  /** The state machine of each strategy type (`allAtOnce`, `rolling`, ...). Only those the specs use are granted. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * The name of the schedule group the construct creates.
   * @default - a generated name
   */
  readonly groupName?: string;
}

const SCHEDULER_NAME = /^[0-9A-Za-z_.-]{1,64}$/;
const MAX_EVENT_AGE = Duration.hours(1);

function timezoneIsValid(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

interface CheckedWindow {
  readonly window: MaintenanceWindow;
  readonly expression: string;
  readonly timezone: string;
  readonly strategy: string;
  readonly input: Record<string, unknown>;
  readonly description: string;
  /** How late Scheduler may still start: the spec's window duration, else an hour. */
  readonly maxEventAge: Duration;
}

/**
 * Maintenance windows as EventBridge Scheduler schedules: each opening of a
 * window starts the stored spec's strategy state machine with the spec as its
 * input. The spec carries no deploymentId, so every opening is a new
 * deployment, named by its execution. The schedules live in a schedule group
 * of their own; their role may only start the machines the specs use.
 */
export class MaintenanceWindowSchedules extends Construct {
  /** The group that holds the schedules. */
  public readonly scheduleGroup: scheduler.ScheduleGroup;
  /** The role Scheduler assumes to start executions. */
  public readonly role: iam.Role;
  /** The schedules, by window name. */
  public readonly schedules: Readonly<Record<string, scheduler.Schedule>>;

  constructor(scope: Construct, id: string, props: MaintenanceWindowSchedulesProps) {
    super(scope, id);
    const windows = validateWindows(id, props);
    const stack = Stack.of(this);

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Group', {
      ...(props.groupName === undefined ? {} : { scheduleGroupName: props.groupName }),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: starts the deployctl state machines when a maintenance window opens',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.scheduleGroup.scheduleGroupArn } },
      }),
    });

    const schedules: Record<string, scheduler.Schedule> = {};
    for (const w of windows) {
      const machine = props.stateMachines[w.strategy] as sfn.IStateMachine;
      schedules[w.window.name] = new scheduler.Schedule(this, w.window.name, {
        scheduleName: w.window.name,
        scheduleGroup: this.scheduleGroup,
        description: w.description,
        schedule: scheduler.ScheduleExpression.expression(w.expression, TimeZone.of(w.timezone)),
        timeWindow:
          w.window.flexibleWindowMinutes === undefined
            ? scheduler.TimeWindow.off()
            : scheduler.TimeWindow.flexible(Duration.minutes(w.window.flexibleWindowMinutes)),
        target: new schedulerTargets.StepFunctionsStartExecution(machine, {
          role: this.role,
          input: scheduler.ScheduleTargetInput.fromObject(w.input),
          maxEventAge: w.maxEventAge,
        }),
      });
    }
    this.schedules = schedules;
  }
}

function validateWindows(id: string, props: MaintenanceWindowSchedulesProps): CheckedWindow[] {
  const fail = (message: string): never => {
    throw new Error(`MaintenanceWindowSchedules ${id}: ${message}`);
  };
  if (props.windows.length === 0) fail('give at least one window');
  if (props.groupName !== undefined && (!SCHEDULER_NAME.test(props.groupName) || props.groupName === 'default'))
    fail(`groupName "${props.groupName}" must be 1 to 64 of A-Z a-z 0-9 . _ - and not "default"`);
  const seen = new Set<string>();
  return props.windows.map((window, index) => {
    if (!SCHEDULER_NAME.test(window.name)) fail(`windows[${index}].name "${window.name}" must be 1 to 64 of A-Z a-z 0-9 . _ -`);
    if (seen.has(window.name)) fail(`window "${window.name}" is given twice`);
    seen.add(window.name);
    const label = `window "${window.name}"`;

    if (Object.hasOwn(window.spec, 'deploymentId'))
      fail(`${label}: spec.deploymentId must be left out: every opening is a new deployment, named by its execution`);
    const input = { requestedBy: `scheduler:${window.name}`, ...window.spec };
    const parsed = DeploymentSpec.safeParse(input);
    if (!parsed.success) {
      const errors = toFieldErrors(parsed.error).map((e) => `${e.field}: ${e.message}`);
      return fail(`${label}: invalid deployment spec: ${errors.join('; ')}`);
    }
    const spec = parsed.data;
    const strategy = spec.strategy.type;
    if (!Object.hasOwn(props.stateMachines, strategy)) {
      const given = Object.keys(props.stateMachines).join(', ') || 'none';
      fail(`${label}: strategy.type ${strategy} has no state machine in stateMachines (given: ${given})`);
    }

    let expression = '';
    try {
      expression = toSchedulerCron(window.cron);
    } catch (error) {
      fail(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const timezone = window.timezone ?? spec.window?.timezone ?? 'UTC';
    if (!timezoneIsValid(timezone)) fail(`${label}: timezone "${timezone}" is not an IANA time zone (for example Europe/Paris or UTC)`);

    const flexible = window.flexibleWindowMinutes;
    if (flexible !== undefined) {
      if (!(Number.isInteger(flexible) && flexible >= 1 && flexible <= 1440))
        fail(`${label}: flexibleWindowMinutes must be a whole number from 1 to 1440, got ${flexible}`);
      if (spec.window && flexible >= spec.window.durationMinutes)
        fail(
          `${label}: flexibleWindowMinutes (${flexible}) must be less than spec.window.durationMinutes (${spec.window.durationMinutes}), or the deployment could start after the window closes`,
        );
    }
    const description =
      window.description ?? `deployctl: ${spec.app}/${spec.environment}, ${strategy}, when the window ${window.name} opens`;
    if (description.length > 512) fail(`${label}: description is longer than 512 characters`);

    return {
      window,
      expression,
      timezone,
      strategy,
      input,
      description,
      maxEventAge: spec.window ? Duration.minutes(Math.min(spec.window.durationMinutes, 1440)) : MAX_EVENT_AGE,
    };
  });
}
