import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEPLOYCTL_METRICS, Observability, type ObservabilityProps } from '#lib/observability.ts';
import { type RegionalStack, STRATEGIES } from '#lib/regional-stack.ts';
import { ACCOUNT, ENTRY_POINTS, type Json, logicalIdOf, REGION, regionalStack } from '#test/infra/synth.ts';

const MetricOptions = z.looseObject({
  expression: z.string().optional(),
  label: z.string().optional(),
  id: z.string().optional(),
  visible: z.boolean().optional(),
  period: z.number().optional(),
  stat: z.string().optional(),
});
const Widget = z.looseObject({
  type: z.string(),
  width: z.number(),
  properties: z.looseObject({
    title: z.string().optional(),
    markdown: z.string().optional(),
    alarms: z.array(z.string()).optional(),
    metrics: z.array(z.array(z.union([z.string(), MetricOptions]))).optional(),
  }),
});
const DashboardBody = z.object({ start: z.string().optional(), widgets: z.array(Widget) });
type Widget = z.infer<typeof Widget>;

/** One line of a graph: a metric (namespace, name, dimensions) or an expression. */
interface Line {
  readonly namespace?: string;
  readonly metricName?: string;
  readonly dimensions: Record<string, string>;
  readonly options: z.infer<typeof MetricOptions>;
}

/**
 * The dashboard body as CloudWatch will read it: the synthesized `Fn::Join`
 * resolved, each `Ref` written `<LogicalId>`, each `Fn::GetAtt` `<LogicalId.Attribute>`.
 */
function renderDashboard(template: Template, dashboard: Observability['dashboard']): z.infer<typeof DashboardBody> {
  const resolve = (part: Json): string => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object' && !Array.isArray(part)) {
      if (part.Ref === 'AWS::Region') return REGION;
      if (typeof part.Ref === 'string') return `<${part.Ref}>`;
      const getAtt = part['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    }
    throw new Error(`unexpected reference in the dashboard: ${JSON.stringify(part)}`);
  };
  const resources = template.toJSON().Resources as Record<string, { Properties: { DashboardBody: Json } }>;
  const body = resources[logicalIdOf(dashboard)]?.Properties.DashboardBody;
  if (body === undefined) throw new Error('no dashboard in the template');
  const join = typeof body === 'object' && body && !Array.isArray(body) ? body['Fn::Join'] : undefined;
  const text = typeof body === 'string' ? body : Array.isArray(join) && Array.isArray(join[1]) ? join[1].map(resolve).join('') : undefined;
  if (text === undefined) throw new Error(`unexpected DashboardBody shape: ${JSON.stringify(body).slice(0, 200)}`);
  return DashboardBody.parse(JSON.parse(text));
}

function linesOf(widget: Widget): Line[] {
  return (widget.properties.metrics ?? []).map((row) => {
    const last = row.at(-1);
    const options = typeof last === 'object' ? last : {};
    const names = row.filter((cell): cell is string => typeof cell === 'string');
    const [namespace, metricName, ...dims] = names;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i] as string] = dims[i + 1] as string;
    return { ...(namespace ? { namespace } : {}), ...(metricName ? { metricName } : {}), dimensions, options };
  });
}

const SCHEMA = '{Deployctl,app,environment,service}';
const search = (metricName: string, stat: string, period: number) => `SEARCH('${SCHEMA} MetricName="${metricName}"', '${stat}', ${period})`;
const total = (metricName: string, period: number) => `SUM(${search(metricName, 'Sum', period)})`;

/**
 * Evaluates a graph's visible math expression for given totals, as CloudWatch
 * would at one timestamp: each hidden line's id takes its value (missing ones
 * are no data), FILL(x, 0) is x or 0.
 */
function evaluate(widget: Widget, values: Record<string, number | undefined>): number {
  const lines = linesOf(widget);
  const shown = lines.filter((line) => line.options.visible !== false);
  expect(shown).toHaveLength(1);
  const expression = shown[0]?.options.expression ?? '';
  const ids = new Map(lines.filter((line) => line.options.visible === false).map((line) => [line.options.id, line.options.expression]));
  const arithmetic = expression.replace(/FILL\((\w+), 0\)/g, (_, id: string) => {
    const metricName = [...Object.values(DEPLOYCTL_METRICS)].find((name) => ids.get(id) === total(name, 86400));
    if (!metricName) throw new Error(`${id} is not a daily total of a deployctl metric: ${ids.get(id)}`);
    return String(values[metricName] ?? 0);
  });
  if (!/^[\d\s+*/().-]+$/.test(arithmetic)) throw new Error(`not plain arithmetic after substitution: ${arithmetic}`);
  return Number(new Function(`return ${arithmetic};`)());
}

describe('the regional stack’s observability', () => {
  let stack: RegionalStack;
  let template: Template;
  let widgets: Widget[];
  const widget = (title: RegExp): Widget => {
    const found = widgets.filter((w) => w.properties.title !== undefined && title.test(w.properties.title));
    expect(found, `widget ${title}`).toHaveLength(1);
    return found[0] as Widget;
  };
  const expressionsOf = (title: RegExp) => linesOf(widget(title)).map((line) => line.options.expression);
  /** The functions watched: the orchestrator's, the API's and, when configured, the pipeline trigger's. */
  const watchedFunctions = () => ({ ...stack.functions, api: stack.api.function });

  beforeAll(() => {
    ({ stack } = regionalStack());
    template = Template.fromStack(stack);
    widgets = renderDashboard(template, stack.observability.dashboard).widgets;
  });

  describe('the dashboard', () => {
    it('is named after the stack and its region, since dashboards are global to the account, and opens on the last two weeks', () => {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Deployctl-${REGION}` });
      const resources = template.toJSON().Resources as Record<string, { Properties: { DashboardBody: Json } }>;
      const body = JSON.stringify(resources[logicalIdOf(stack.observability.dashboard)]?.Properties.DashboardBody);
      expect(body).toContain('\\"start\\":\\"-P14D\\"');
    });

    it('graphs started, succeeded, failed, rolled-back and aborted deployments per hour, summed over every app and environment', () => {
      expect(expressionsOf(/^Deployments \(per hour\)/)).toEqual([
        total('DeploymentsStarted', 3600),
        total('DeploymentsSucceeded', 3600),
        total('DeploymentsFailed', 3600),
        total('DeploymentsRolledBack', 3600),
        total('DeploymentsAborted', 3600),
      ]);
    });

    it('computes the success rate as succeeded over succeeded, failed, rolled back and aborted, in percent', () => {
      const rate = widget(/^Success rate/);
      const counts = { DeploymentsSucceeded: 8, DeploymentsFailed: 1, DeploymentsRolledBack: 1, DeploymentsAborted: 0 };
      expect(evaluate(rate, counts)).toBe(80);
      expect(evaluate(rate, { DeploymentsSucceeded: 3, DeploymentsAborted: 1 })).toBe(75);
      // DeploymentsStarted is not an outcome: it never enters the rate.
      expect(evaluate(rate, { ...counts, DeploymentsStarted: 100 })).toBe(80);
    });

    it('graphs deployment and wave durations at p50 and p90, one line per app and environment', () => {
      expect(expressionsOf(/^Deployment duration/)).toEqual([
        search('DeploymentDurationSeconds', 'p50', 3600),
        search('DeploymentDurationSeconds', 'p90', 3600),
      ]);
      expect(expressionsOf(/^Wave duration/)).toEqual([
        search('WaveDurationSeconds', 'p50', 3600),
        search('WaveDurationSeconds', 'p90', 3600),
      ]);
      for (const line of linesOf(widget(/^Wave duration/)))
        expect(line.options.label).toMatch(/PROP\('Dim\.app'\).*PROP\('Dim\.environment'\)/);
    });

    it('graphs rollbacks per day by app and environment, and hosts deployed and command failures per hour', () => {
      expect(expressionsOf(/^Rollbacks/)).toEqual([search('DeploymentsRolledBack', 'Sum', 86400)]);
      expect(expressionsOf(/^Hosts deployed/)).toEqual([total('HostsDeployed', 3600), total('HostCommandFailures', 3600)]);
    });

    it('graphs every watched function’s Errors and Throttles, five-minute sums', () => {
      const lines = linesOf(widget(/^Orchestrator function errors/));
      const expected = Object.values(watchedFunctions()).flatMap((fn) =>
        ['Errors', 'Throttles'].map((metricName) => ({ metricName, FunctionName: `<${logicalIdOf(fn)}>` })),
      );
      expect(lines.map((line) => ({ metricName: line.metricName, ...line.dimensions })).sort(byJson)).toEqual(expected.sort(byJson));
      for (const line of lines) {
        // A graph's default period is five minutes: CDK leaves it out.
        expect(line).toMatchObject({ namespace: 'AWS/Lambda', options: { stat: 'Sum' } });
        expect(line.options.period ?? 300).toBe(300);
      }
    });

    it('graphs every state machine’s timed-out, throttled and aborted executions, and SSM callback timeouts', () => {
      const lines = linesOf(widget(/^Executions timed out/));
      const expected = STRATEGIES.flatMap((strategy) =>
        ['ExecutionsTimedOut', 'ExecutionThrottled', 'ExecutionsAborted'].map((metricName) => ({
          metricName,
          StateMachineArn: `<${logicalIdOf(stack.stateMachines[strategy])}>`,
        })),
      );
      const metrics = lines.filter((line) => line.namespace);
      expect(metrics.map((line) => ({ metricName: line.metricName, ...line.dimensions })).sort(byJson)).toEqual(expected.sort(byJson));
      for (const line of metrics) {
        // A graph's default period is five minutes: CDK leaves it out.
        expect(line).toMatchObject({ namespace: 'AWS/States', options: { stat: 'Sum' } });
        expect(line.options.period ?? 300).toBe(300);
      }
      expect(lines.filter((line) => !line.namespace).map((line) => line.options.expression)).toEqual([total('CallbackTimeouts', 300)]);
    });

    it('never graphs ExecutionsFailed: a rolled-back deployment ends its execution FAILED, which is no orchestrator fault', () => {
      const names = widgets.flatMap(linesOf).map((line) => line.metricName);
      expect(names).not.toContain('ExecutionsFailed');
    });

    it('shows the DORA figures: successful deployments per day, change failure rate, lead time and time to restore at p50', () => {
      expect(expressionsOf(/^Deployment frequency/)).toEqual([total('DeploymentsSucceeded', 86400)]);
      expect(expressionsOf(/^Lead time/)).toEqual([search('LeadTimeSeconds', 'p50', 86400)]);
      expect(expressionsOf(/^Time to restore/)).toEqual([search('TimeToRestoreSeconds', 'p50', 86400)]);
      const failureRate = widget(/^Change failure rate/);
      expect(
        evaluate(failureRate, { DeploymentsSucceeded: 6, DeploymentsFailed: 1, DeploymentsRolledBack: 2, DeploymentsAborted: 1 }),
      ).toBe(30);
      expect(evaluate(failureRate, { DeploymentsSucceeded: 5 })).toBe(0);
    });

    it('finds every deployctl metric by SEARCH over the exact dimensions the handlers emit', () => {
      const expressions = widgets.flatMap(linesOf).flatMap((line) => (line.options.expression ? [line.options.expression] : []));
      const searches = expressions.flatMap((expression) => [...expression.matchAll(/SEARCH\('([^']*)'/g)].map((match) => match[1]));
      expect(searches.length).toBeGreaterThan(0);
      for (const query of searches) expect(query).toMatch(/^\{Deployctl,app,environment,service\} MetricName="\w+"$/);
      const searched = new Set(searches.map((query) => query?.match(/MetricName="(\w+)"/)?.[1]));
      expect([...searched].sort()).toEqual(Object.values(DEPLOYCTL_METRICS).sort());
    });

    it('shows the state of every fault alarm', () => {
      const alarms = widgets.find((w) => w.type === 'alarm')?.properties.alarms;
      expect(alarms?.sort()).toEqual(stack.observability.alarms.map((alarm) => `<${logicalIdOf(alarm)}.Arn>`).sort());
    });
  });

  describe('the fault alarms', () => {
    const topic = () => ({ Ref: logicalIdOf(stack.observability.alarmTopic as sns.Topic) });
    const fault = () => ({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic()],
    });

    it('fire on any error of any watched function in five minutes', () => {
      for (const [name, fn] of Object.entries(watchedFunctions()))
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...fault(),
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(fn) } }],
          Statistic: 'Sum',
          Period: 300,
          AlarmDescription: Match.stringLikeRegexp(`^deployctl ${name} function failed`),
        });
    });

    it('fire on any timed-out or throttled execution of any state machine', () => {
      for (const strategy of STRATEGIES)
        for (const metricName of ['ExecutionsTimedOut', 'ExecutionThrottled'])
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            ...fault(),
            Namespace: 'AWS/States',
            MetricName: metricName,
            Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalIdOf(stack.stateMachines[strategy]) } }],
            Statistic: 'Sum',
            Period: 300,
          });
    });

    it('fire on any SSM callback timeout, summed by a Metrics Insights query over every app and environment', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...fault(),
        Metrics: [
          {
            Id: Match.anyValue(),
            Expression: 'SELECT SUM(CallbackTimeouts) FROM "Deployctl"',
            Period: 300,
            ReturnData: true,
            Label: Match.anyValue(),
          },
        ],
      });
    });

    it('are exactly those, all notifying the alarm topic and nothing else', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms).toHaveLength(Object.keys(watchedFunctions()).length + 2 * STRATEGIES.length + 1);
      expect(stack.observability.alarms).toHaveLength(alarms.length);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topic()]);
        expect(alarm.Properties.OKActions).toBeUndefined();
      }
    });

    it('never watch deployment outcomes: failed, rolled-back or aborted deployments and executions are not faults', () => {
      const watched = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) =>
        JSON.stringify(alarm.Properties.MetricName ?? alarm.Properties.Metrics),
      );
      for (const outcome of ['ExecutionsFailed', 'ExecutionsAborted', 'DeploymentsFailed', 'DeploymentsRolledBack', 'DeploymentsAborted'])
        for (const metric of watched) expect(metric).not.toContain(outcome);
    });

    it('watch the pipeline trigger too when pipelines are configured', () => {
      const configured = regionalStack({}, ENTRY_POINTS).stack;
      const trigger = configured.pipelines?.function;
      if (!trigger) throw new Error('no pipeline trigger');
      Template.fromStack(configured).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(trigger) } }],
      });
    });
  });

  describe('the alarm topic', () => {
    const topicId = () => logicalIdOf(stack.observability.alarmTopic as sns.Topic);
    const keyId = () => {
      const key = stack.observability.alarmTopicKey;
      if (!key) throw new Error('no alarm topic key');
      return logicalIdOf(key);
    };
    const fromAlarms = {
      StringEquals: { 'aws:SourceAccount': ACCOUNT },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:${REGION}:${ACCOUNT}:alarm:*`]] } },
    };

    it('is encrypted with a customer managed key that rotates, which CloudWatch may use for this account’s alarms', () => {
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] } });
      const key = template.findResources('AWS::KMS::Key')[keyId()];
      expect(key?.Properties.EnableKeyRotation).toBe(true);
      expect(key?.Properties.KeyPolicy.Statement).toContainEqual({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: fromAlarms,
      });
    });

    it('refuses publishing without TLS, and lets CloudWatch publish for this account’s alarms only', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId() }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: '*',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: { Ref: topicId() },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: fromAlarms,
              Resource: { Ref: topicId() },
            }),
          ]),
        },
      });
    });

    it('and the dashboard are named in the stack outputs', () => {
      const outputs = template.findOutputs('*');
      expect(outputs.DashboardName?.Value).toEqual({ Ref: logicalIdOf(stack.observability.dashboard) });
      expect(outputs.AlarmTopicArn?.Value).toEqual({ Ref: topicId() });
    });

    it('can be an existing topic instead, named by its ARN, and then none is created', () => {
      const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:chatbot-alarms`;
      const configured = regionalStack({}, { alarmTopicArn: arn }).stack;
      const t = Template.fromStack(configured);
      t.resourceCountIs('AWS::SNS::Topic', 0);
      t.resourceCountIs('AWS::KMS::Key', 0);
      expect(t.findOutputs('AlarmTopicArn').AlarmTopicArn?.Value).toBe(arn);
      for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toEqual([arn]);
    });
  });
});

describe('Observability on its own', () => {
  function build(props: Partial<ObservabilityProps> = {}): { stack: Stack; observability: Observability } {
    const stack = new Stack(new App(), 'Watched', { env: { account: ACCOUNT, region: REGION } });
    const observability = new Observability(stack, 'Observability', {
      functions: { deploy: lambda.Function.fromFunctionName(stack, 'Deploy', 'deploy') },
      stateMachines: { rolling: sfn.StateMachine.fromStateMachineName(stack, 'Rolling', 'Deployctl-rolling') },
      ...props,
    });
    return { stack, observability };
  }

  it('does not repeat the region in the dashboard name when the stack name ends with it (the multi-region stacks)', () => {
    const stack = new Stack(new App(), `Deployctl-${REGION}`, { env: { account: ACCOUNT, region: REGION } });
    new Observability(stack, 'Observability', {
      functions: { deploy: lambda.Function.fromFunctionName(stack, 'Deploy', 'deploy') },
      stateMachines: { rolling: sfn.StateMachine.fromStateMachineName(stack, 'Rolling', 'Deployctl-rolling') },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Deployctl-${REGION}` });
    Template.fromStack(build().stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Watched-${REGION}` });
  });

  it('takes the dashboard name it is given', () => {
    const { stack } = build({ dashboardName: 'deployments' });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'deployments' });
  });

  it('sends the alarms to a given topic of the app, which CloudWatch is allowed to publish to, and creates no topic or key', () => {
    const stack = new Stack(new App(), 'Watched', { env: { account: ACCOUNT, region: REGION } });
    const given = new sns.Topic(stack, 'Chatbot');
    const observability = new Observability(stack, 'Observability', {
      functions: { deploy: lambda.Function.fromFunctionName(stack, 'Deploy', 'deploy') },
      stateMachines: { rolling: sfn.StateMachine.fromStateMachineName(stack, 'Rolling', 'Deployctl-rolling') },
      alarmTopic: given,
    });
    expect(observability.alarmTopic).toBe(given);
    expect(observability.alarmTopicKey).toBeUndefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 0);
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms)).toHaveLength(observability.alarms.length);
    for (const alarm of Object.values(alarms)) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: logicalIdOf(given) }]);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalIdOf(given) }],
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } })] },
    });
  });

  it('refuses to watch nothing, and names it must turn into construct ids', () => {
    expect(() => build({ functions: {} })).toThrow(/no functions/);
    expect(() => build({ stateMachines: {} })).toThrow(/no state machines/);
    const stack = new Stack(new App(), 'Bad');
    expect(
      () =>
        new Observability(stack, 'Observability', {
          functions: { 'send-command': lambda.Function.fromFunctionName(stack, 'F', 'f') },
          stateMachines: { rolling: sfn.StateMachine.fromStateMachineName(stack, 'M', 'm') },
        }),
    ).toThrow(/'send-command' is not an alphanumeric name/);
  });
});

const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
