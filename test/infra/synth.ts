import { App, type AppProps, type CfnResource, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { z } from 'zod';
import type { HandlerName } from '#lib/orchestrator-functions.ts';
import { RegionalStack, type RegionalStackProps, STRATEGIES, type StrategyName } from '#lib/regional-stack.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/** The regional stack in a fresh app, with Lambda bundling skipped (the code assets are not under test here). */
export function regionalStack(props: AppProps = {}, stackProps: Omit<RegionalStackProps, 'env'> = {}): { app: App; stack: RegionalStack } {
  const app = new App({ ...props, context: { 'aws:cdk:bundling-stacks': [], ...props.context } });
  const stack = new RegionalStack(app, 'Deployctl', { env: { account: ACCOUNT, region: REGION }, ...stackProps });
  return { app, stack };
}

/** A pipeline, a maintenance window and email notifications, as a user would configure them in cdk.json. */
export const ENTRY_POINTS: Omit<RegionalStackProps, 'env'> = {
  pipelines: [
    {
      pipelineName: 'web-release',
      app: 'web',
      environment: 'prod',
      spec: { targets: { tags: { app: 'web', environment: 'prod' } }, strategy: { type: 'canary', stages: [10, 50, 100] } },
    },
  ],
  maintenanceWindows: [
    {
      name: 'patch-saturday',
      cron: '0 2 * * 6',
      timezone: 'Europe/Berlin',
      flexibleWindowMinutes: 15,
      spec: {
        app: 'os-patch',
        environment: 'prod',
        version: '2026-11',
        targets: { tags: { patch: 'weekly' } },
        command: { document: 'AWS-RunPatchBaseline', parameters: { Operation: ['Install'] } },
        strategy: { type: 'rolling', batchSize: '20%' },
      },
    },
  ],
  notifications: { emails: ['ops@example.com'] },
};

/** The logical id CloudFormation will use for a construct's resource, read from the stack at run time. */
export function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  const resource = construct.node.defaultChild as CfnResource | undefined;
  if (!resource) throw new Error('construct has no CloudFormation resource');
  return Stack.of(resource).resolve(resource.logicalId) as string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const Retrier = z.looseObject({
  ErrorEquals: z.array(z.string()),
  IntervalSeconds: z.number().optional(),
  MaxAttempts: z.number().optional(),
  BackoffRate: z.number().optional(),
  JitterStrategy: z.string().optional(),
});

/** One ASL state, as much of it as the tests read; the rest passes through. */
const AslState = z.looseObject({
  Type: z.string(),
  Next: z.string().optional(),
  End: z.boolean().optional(),
  Default: z.string().optional(),
  Choices: z.array(z.looseObject({ Next: z.string(), Variable: z.string().optional() })).optional(),
  Catch: z.array(z.looseObject({ ErrorEquals: z.array(z.string()), Next: z.string(), ResultPath: z.string().optional() })).optional(),
  Retry: z.array(Retrier).optional(),
  Resource: z.string().optional(),
  Parameters: z.looseObject({ FunctionName: z.string().optional(), Payload: z.record(z.string(), z.unknown()).optional() }).optional(),
  TimeoutSeconds: z.number().optional(),
  TimeoutSecondsPath: z.string().optional(),
  HeartbeatSeconds: z.number().optional(),
  SecondsPath: z.string().optional(),
  ResultPath: z.string().nullable().optional(),
  Result: z.unknown().optional(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
  CausePath: z.string().optional(),
});
export type AslState = z.infer<typeof AslState>;

const AslDefinition = z.looseObject({ StartAt: z.string(), TimeoutSeconds: z.number().optional(), States: z.record(z.string(), AslState) });
export type AslDefinition = z.infer<typeof AslDefinition>;

/** The placeholder ARN a function's `Fn::GetAtt` becomes in a rendered definition. */
export const placeholderArn = (handler: HandlerName) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${handler}`;

/**
 * A state machine's definition as Step Functions will see it: the synthesized
 * `DefinitionString` join resolved, the partition as `aws` and each function's
 * ARN as a placeholder naming its handler.
 */
export function renderDefinition(stack: RegionalStack, template: Template, strategy: StrategyName): AslDefinition {
  const handlerByLogicalId = new Map<string, HandlerName>();
  for (const [name, fn] of Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][])
    handlerByLogicalId.set(logicalIdOf(fn), name);

  const resolve = (part: Json): string => {
    if (typeof part === 'string') return part;
    if (part && typeof part === 'object' && !Array.isArray(part)) {
      if (part.Ref === 'AWS::Partition') return 'aws';
      const getAtt = part['Fn::GetAtt'];
      if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
        const handler = handlerByLogicalId.get(String(getAtt[0]));
        if (handler) return placeholderArn(handler);
      }
    }
    throw new Error(`unexpected reference in the definition: ${JSON.stringify(part)}`);
  };

  const resources = template.toJSON().Resources as Record<string, { Properties: { DefinitionString: Json } }>;
  const body = resources[logicalIdOf(stack.stateMachines[strategy])]?.Properties.DefinitionString;
  if (body === undefined) throw new Error(`no ${strategy} state machine in the template`);
  const join = typeof body === 'object' && body && !Array.isArray(body) ? body['Fn::Join'] : undefined;
  const text = typeof body === 'string' ? body : Array.isArray(join) && Array.isArray(join[1]) ? join[1].map(resolve).join('') : undefined;
  if (text === undefined) throw new Error(`unexpected DefinitionString shape: ${JSON.stringify(body).slice(0, 200)}`);
  return AslDefinition.parse(JSON.parse(text));
}

/** Every strategy's definition, rendered as {@link renderDefinition} does. */
export function renderDefinitions(stack: RegionalStack, template: Template): Record<StrategyName, AslDefinition> {
  return Object.fromEntries(STRATEGIES.map((strategy) => [strategy, renderDefinition(stack, template, strategy)])) as Record<
    StrategyName,
    AslDefinition
  >;
}

/** The handler a rendered task invokes, read back from its placeholder ARN (undefined for a task that invokes none). */
export function invokedHandler(state: AslState): HandlerName | undefined {
  const prefix = placeholderArn('' as HandlerName);
  const arn = state.Parameters?.FunctionName;
  return arn?.startsWith(prefix) ? (arn.slice(prefix.length) as HandlerName) : undefined;
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
}
interface PolicyResource {
  readonly Type: string;
  readonly Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
}

/** The IAM policies of a synthesized template (`Template.toJSON()` or a cloud assembly's template). */
export function policiesOf(template: { Resources?: Record<string, { Type: string }> }): PolicyResource[] {
  return Object.values(template.Resources ?? {}).filter((r): r is PolicyResource => r.Type === 'AWS::IAM::Policy');
}

export const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
