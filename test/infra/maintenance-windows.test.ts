import { App, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeploymentSpec } from '#core/spec.ts';
import {
  type MaintenanceWindow,
  MaintenanceWindowSchedules,
  type MaintenanceWindowSchedulesProps,
  type ScheduledSpec,
} from '#lib/maintenance-windows.ts';
import { ACCOUNT, REGION, type Statement } from '#test/infra/synth.ts';

const WEB_SPEC = {
  app: 'web',
  environment: 'prod',
  version: '1.2.3',
  targets: { tags: { Role: 'web' } },
  strategy: { type: 'canary', stages: [20, 100] },
  window: { cron: '30 1 * * 1-5', durationMinutes: 120, timezone: 'Europe/Paris' },
  changeTicket: 'CHG-7',
} satisfies ScheduledSpec;
/** No strategy (the default, rolling) and no window. */
const API_SPEC = { app: 'api', environment: 'prod', version: '2.0.0', targets: { resourceGroup: 'api-hosts' } } satisfies ScheduledSpec;

const WINDOWS: MaintenanceWindow[] = [
  { name: 'web-prod-weekdays', cron: '30 1 * * 1-5', timezone: 'Europe/Paris', flexibleWindowMinutes: 15, spec: WEB_SPEC },
  { name: 'api-prod-nightly', cron: '0 3 * * *', spec: API_SPEC, description: 'API nightly patching' },
];

interface Synth {
  readonly stack: Stack;
  readonly schedules: MaintenanceWindowSchedules;
  readonly machines: Record<'rolling' | 'canary' | 'linear', sfn.StateMachine>;
}

function synth(props: Partial<MaintenanceWindowSchedulesProps> = {}): Synth {
  const app = new App();
  const stack = new Stack(app, 'Windows', { env: { account: ACCOUNT, region: REGION } });
  const machine = (strategy: string) =>
    new sfn.StateMachine(stack, `${strategy}Machine`, {
      stateMachineName: `Deployctl-${strategy}`,
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${strategy} Pass`)),
    });
  const machines = { rolling: machine('rolling'), canary: machine('canary'), linear: machine('linear') };
  const schedules = new MaintenanceWindowSchedules(stack, 'MaintenanceWindows', {
    windows: WINDOWS,
    stateMachines: machines,
    groupName: 'deployctl-windows',
    ...props,
  });
  return { stack, schedules, machines };
}

describe('MaintenanceWindowSchedules', () => {
  let built: Synth;
  let template: Template;
  const resolve = (value: unknown) => built.stack.resolve(value);

  beforeAll(() => {
    built = synth();
    template = Template.fromStack(built.stack);
  });

  /** The properties of the schedule of a window, found by its name. */
  function scheduleOf(name: string): Record<string, unknown> {
    const found = Object.values(template.findResources('AWS::Scheduler::Schedule', { Properties: { Name: name } }));
    expect(found).toHaveLength(1);
    return (found[0] as { Properties: Record<string, unknown> }).Properties;
  }

  it('puts one schedule per window in the schedule group it creates', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'deployctl-windows' });
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    for (const name of ['web-prod-weekdays', 'api-prod-nightly']) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: name, GroupName: 'deployctl-windows', State: 'ENABLED' });
    }
  });

  it('exposes the schedules by window name', () => {
    expect(Object.keys(built.schedules.schedules).sort()).toEqual(['api-prod-nightly', 'web-prod-weekdays']);
    for (const [name, schedule] of Object.entries(built.schedules.schedules)) {
      expect((schedule.node.defaultChild as CfnSchedule).name).toBe(name);
    }
  });

  it('opens on the six-field form of the window cron, in the window time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'web-prod-weekdays',
      ScheduleExpression: 'cron(30 1 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'api-prod-nightly',
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });

  it('takes the time zone of the spec window when the window gives none', () => {
    const { stack } = synth({
      windows: [{ name: 'web', cron: '0 2 * * 6', spec: { ...WEB_SPEC, window: { ...WEB_SPEC.window, timezone: 'America/New_York' } } }],
    });

    Template.fromStack(stack).hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'America/New_York',
    });
  });

  it('lets Scheduler start within the flexible window when one is given, and at the opening otherwise', () => {
    expect(scheduleOf('web-prod-weekdays').FlexibleTimeWindow).toEqual({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 });
    expect(scheduleOf('api-prod-nightly').FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
  });

  it('describes each schedule, by default with the app, environment and strategy', () => {
    expect(scheduleOf('web-prod-weekdays').Description).toBe('deployctl: web/prod, canary, when the window web-prod-weekdays opens');
    expect(scheduleOf('api-prod-nightly').Description).toBe('API nightly patching');
  });

  describe('the target', () => {
    it('is the state machine of the spec strategy, started with the schedules role', () => {
      const web = scheduleOf('web-prod-weekdays').Target as Record<string, unknown>;
      const api = scheduleOf('api-prod-nightly').Target as Record<string, unknown>;

      expect(web.Arn).toEqual(resolve(built.machines.canary.stateMachineArn));
      expect(api.Arn).toEqual(resolve(built.machines.rolling.stateMachineArn));
      expect(web.RoleArn).toEqual(resolve(built.schedules.role.roleArn));
      expect(api.RoleArn).toEqual(resolve(built.schedules.role.roleArn));
    });

    it('gives the machine the stored spec as input, requested by the schedule and without a deployment id', () => {
      const input = JSON.parse((scheduleOf('web-prod-weekdays').Target as { Input: string }).Input);

      expect(input).toEqual({ ...WEB_SPEC, requestedBy: 'scheduler:web-prod-weekdays' });
      expect(input).not.toHaveProperty('deploymentId');
      expect(DeploymentSpec.safeParse(input).success).toBe(true);
    });

    it('keeps a requestedBy that the spec gives', () => {
      const { stack } = synth({ windows: [{ name: 'api', cron: '0 3 * * *', spec: { ...API_SPEC, requestedBy: 'ops-team' } }] });
      const target = new Capture();
      Template.fromStack(stack).hasResourceProperties('AWS::Scheduler::Schedule', { Target: target });

      expect(JSON.parse((target.asObject() as { Input: string }).Input)).toEqual({ ...API_SPEC, requestedBy: 'ops-team' });
    });

    it('is retried no longer than the spec window lasts, or an hour without a window', () => {
      expect((scheduleOf('web-prod-weekdays').Target as { RetryPolicy: unknown }).RetryPolicy).toMatchObject({
        MaximumEventAgeInSeconds: 7200,
      });
      expect((scheduleOf('api-prod-nightly').Target as { RetryPolicy: unknown }).RetryPolicy).toMatchObject({
        MaximumEventAgeInSeconds: 3600,
      });
    });
  });

  describe('the role', () => {
    it('may be assumed only by EventBridge Scheduler for schedules of this group in this account', () => {
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            {
              Action: 'sts:AssumeRole',
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Condition: {
                StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': resolve(built.schedules.scheduleGroup.scheduleGroupArn) },
              },
            },
          ],
        },
      });
    });

    it('may only start executions of the machines the specs use', () => {
      const role = resolve(built.schedules.role.roleName);
      const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } }));
      const statements = policies.flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
      );

      expect(statements).toHaveLength(2);
      expect(statements).toEqual(
        expect.arrayContaining([
          { Effect: 'Allow', Action: 'states:StartExecution', Resource: resolve(built.machines.canary.stateMachineArn) },
          { Effect: 'Allow', Action: 'states:StartExecution', Resource: resolve(built.machines.rolling.stateMachineArn) },
        ]),
      );
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
        }),
        ManagedPolicyArns: Match.absent(),
        Policies: Match.absent(),
      });
    });
  });

  describe('refuses at synthesis', () => {
    const withWindow = (overrides: Partial<MaintenanceWindow>) => ({ windows: [{ ...(WINDOWS[0] as MaintenanceWindow), ...overrides }] });

    it('a spec that is invalid, naming the window and the fields', () => {
      const { targets: _, ...withoutTargets } = WEB_SPEC;

      expect(() =>
        synth(withWindow({ spec: { ...withoutTargets, strategy: { type: 'canary', stages: [50, 10] } } as ScheduledSpec })),
      ).toThrow(
        /MaintenanceWindowSchedules MaintenanceWindows: window "web-prod-weekdays": invalid deployment spec: targets: .*strategy\.stages: stages must increase/,
      );
    });

    it('a spec with a deployment id, which every opening would reuse', () => {
      const spec = { ...WEB_SPEC, deploymentId: 'fixed' } as ScheduledSpec;

      expect(() => synth(withWindow({ spec }))).toThrow('window "web-prod-weekdays": spec.deploymentId must be left out');
    });

    it('a cron Scheduler cannot express, saying why', () => {
      expect(() => synth(withWindow({ cron: '0 2 1 * 1' }))).toThrow(
        'window "web-prod-weekdays": cron "0 2 1 * 1": a day-of-month and a day-of-week together',
      );
    });

    it('a strategy that has no state machine', () => {
      expect(() => synth(withWindow({ spec: { ...WEB_SPEC, strategy: { type: 'allAtOnce' } } }))).toThrow(
        'window "web-prod-weekdays": strategy.type allAtOnce has no state machine in stateMachines (given: rolling, canary, linear)',
      );
    });

    it('a flexible window as long as the spec window, or out of range', () => {
      expect(() => synth(withWindow({ flexibleWindowMinutes: 120 }))).toThrow(
        'window "web-prod-weekdays": flexibleWindowMinutes (120) must be less than spec.window.durationMinutes (120)',
      );
      expect(() => synth(withWindow({ flexibleWindowMinutes: 0 }))).toThrow('flexibleWindowMinutes must be a whole number from 1 to 1440');
    });

    it('a time zone that is not an IANA name', () => {
      expect(() => synth(withWindow({ timezone: 'Mars/Olympus' }))).toThrow(
        'window "web-prod-weekdays": timezone "Mars/Olympus" is not an IANA time zone',
      );
    });

    it('two windows of the same name, a name Scheduler refuses, and the reserved group name', () => {
      expect(() => synth({ windows: [...WINDOWS, WINDOWS[0] as MaintenanceWindow] })).toThrow('window "web-prod-weekdays" is given twice');
      expect(() => synth(withWindow({ name: 'web prod' }))).toThrow('windows[0].name "web prod" must be 1 to 64 of');
      expect(() => synth({ groupName: 'default' })).toThrow('groupName "default" must be');
    });

    it('no window at all', () => {
      expect(() => synth({ windows: [] })).toThrow('give at least one window');
    });
  });
});
