import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { isTimeZone, toSchedulerCron } from '#core/schedule.ts';
import { DeploymentSpec, type DeploymentSpecInput, toFieldErrors } from '#core/spec.ts';

/** A spec a schedule starts: no deploymentId, as each opening is a new deployment. */
export type ScheduledSpec = Omit<DeploymentSpecInput, 'deploymentId'>;

/** A maintenance window whose every opening starts a deployment. */
export interface MaintenanceWindow {
  /** The schedule's name: 1 to 64 of A-Z a-z 0-9 . _ -, unique in the construct. */
  readonly name: string;
  /** When the window opens: a five-field cron, as `spec.window.cron` (see `toSchedulerCron` in lambdas/core/schedule.ts). */
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
    if (!isTimeZone(timezone)) fail(`${label}: timezone "${timezone}" is not an IANA time zone (for example Europe/Paris or UTC)`);

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
