import { Arn, ArnFormat, CfnOutput, Duration, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { z } from 'zod';
import { EVENT_SOURCE } from '#core/events.ts';
import { REGIONAL_COMPLETED, REGIONAL_REQUESTED } from '#core/regions.ts';
import { Region as RegionName } from '#core/spec.ts';
import { FUNCTIONS, type FunctionNameOf, type FunctionsOf, functionsOf } from '#registry';
import { FanOutDeployment } from '#statemachines/fan-out.ts';
import { grantTableCalls } from './deployment-table.ts';
import { OrchestratorFunction } from './orchestrator-function.ts';

/** Each region's bus for the multi-region events: the default bus, addressed by name in every region. */
const BUS_NAME = 'default';

/** What a region's stack may set for itself; unset keys take the top-level value. */
const RegionSettings = z.looseObject({
  region: RegionName,
  pipelines: z.array(z.unknown()).optional(),
  maintenanceWindows: z.array(z.unknown()).optional(),
  notifications: z.record(z.string(), z.unknown()).optional(),
  alarmTopicArn: z.string().startsWith('arn:').optional(),
  tableKeyArn: z.string().startsWith('arn:').optional(),
});

/**
 * The multi-region part of the `deployctl` context: the control region (it
 * runs the fan-out machine and keeps the aggregated record) and the regions
 * that get a regional stack, as names or with their own settings.
 */
export const MultiRegionConfig = z
  .object({
    controlRegion: RegionName,
    regions: z
      .array(z.union([RegionName.transform((region) => ({ region })), RegionSettings]))
      .min(1)
      .max(30),
  })
  .refine((c) => new Set(c.regions.map((r) => r.region)).size === c.regions.length, {
    message: 'a region may appear only once',
    path: ['regions'],
  });
export type MultiRegionConfig = z.output<typeof MultiRegionConfig>;

/** Reads the multi-region keys of the `deployctl` context; undefined when no regions are configured (one stack, as before). */
export function multiRegionConfig(context: Record<string, unknown>): MultiRegionConfig | undefined {
  if (context.regions === undefined && context.controlRegion === undefined) return undefined;
  const parsed = MultiRegionConfig.safeParse({ controlRegion: context.controlRegion, regions: context.regions });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `deployctl.${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid multi-region configuration: ${problems}`);
  }
  return parsed.data;
}

/** Every region with a stack: the control region first (it has one even when it deploys to no fleet), then the rest in order. */
export function stackRegions(config: MultiRegionConfig): string[] {
  return [...new Set([config.controlRegion, ...config.regions.map((r) => r.region)])];
}

/** The ARN of a region's bus, built from names: no CloudFormation export crosses regions. */
export function busArn(scope: Construct, region: string): string {
  return Arn.format(
    { service: 'events', region, resource: 'event-bus', resourceName: BUS_NAME, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
    Stack.of(scope),
  );
}

/** `eu-west-1` -> `EuWest1`, for construct ids. */
function pascal(region: string): string {
  return region
    .split('-')
    .map((part) => (part[0] ?? '').toUpperCase() + part.slice(1))
    .join('');
}

function concreteRegion(scope: Construct, what: string): string {
  const region = Stack.of(scope).region;
  if (Token.isUnresolved(region)) throw new Error(`${what}: the stack needs a concrete region (env.region) for multi-region`);
  return region;
}

/** One region's part in multi-region deployments. */
export interface MultiRegionRole {
  /** The region whose stack runs the fan-out machine and keeps the aggregated record. */
  readonly controlRegion: string;
  /** Every region with a deployctl stack (the control region's fan-out may send to these). */
  readonly regions: readonly string[];
}

export interface RegionalDeploymentsProps {
  /** This region's strategy machines, by `strategy.type`. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  readonly controlRegion: string;
}

/**
 * The regional side, in every region's stack: a rule per strategy on the
 * region's bus starts that strategy's machine with the spec of a "Regional
 * Deployment Requested" for this region; outside the control region, a rule
 * forwards "Regional Deployment Completed" (put by the regional deployment's
 * close, however it ended) to the control region's bus.
 */
export class RegionalDeployments extends Construct {
  public readonly startRules: events.Rule[] = [];
  /** The rule that sends completions to the control region (none in the control region itself). */
  public readonly completionRule?: events.Rule;
  /** The role EventBridge uses to put events on the control region's bus. */
  public readonly crossRegionRole?: iam.Role;

  constructor(scope: Construct, id: string, props: RegionalDeploymentsProps) {
    super(scope, id);
    const region = concreteRegion(this, `RegionalDeployments ${id}`);
    for (const [strategy, machine] of Object.entries(props.stateMachines)) {
      this.startRules.push(
        new events.Rule(this, `Start${strategy[0]?.toUpperCase()}${strategy.slice(1)}`, {
          description: `deployctl: ${strategy} deployments the control region requests in ${region} -> the ${strategy} state machine`,
          eventPattern: {
            source: [EVENT_SOURCE],
            detailType: [REGIONAL_REQUESTED],
            detail: { region: [region], spec: { strategy: { type: [strategy] } } },
          },
          targets: [
            new targets.SfnStateMachine(machine, {
              input: events.RuleTargetInput.fromEventPath('$.detail.spec'),
              retryAttempts: 8,
              maxEventAge: Duration.hours(2),
            }),
          ],
        }),
      );
    }
    if (region !== props.controlRegion) {
      this.crossRegionRole = new iam.Role(this, 'CrossRegionEventsRole', {
        assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
        description: `EventBridge: "${REGIONAL_COMPLETED}" from ${region} to the control region's bus`,
      });
      this.completionRule = new events.Rule(this, 'CompletionsToControlRegion', {
        description: `deployctl: regional deployments ending in ${region} -> the control region (${props.controlRegion})`,
        eventPattern: { source: [EVENT_SOURCE], detailType: [REGIONAL_COMPLETED] },
        targets: [
          new targets.EventBus(events.EventBus.fromEventBusArn(this, 'ControlBus', busArn(this, props.controlRegion)), {
            role: this.crossRegionRole,
          }),
        ],
      });
    }
  }
}

/** Every fan-out Lambda, by its registry name (lambdas/registry.ts, group `fanOut`). */
export type FanOutFunctions = FunctionsOf<'fanOut', NodejsFunction>;
type FanOutName = FunctionNameOf<'fanOut'>;

export interface RegionFanOutProps {
  /** The control region's deployment table (it keeps the aggregated record). */
  readonly table: dynamodb.ITableV2;
  /** The control region's bus (the default bus). */
  readonly eventBus: events.IEventBus;
  /** Every region with a deployctl stack. */
  readonly regions: readonly string[];
}

/**
 * The control region's fan-out: its functions, the fan-out machine, a rule
 * per other region forwarding "Regional Deployment Requested" to that
 * region's bus (an EventBridge cross-region bus target; the bus ARN is built
 * from names), and the rule that hands "Regional Deployment Completed" to the
 * function that wakes the waiting execution.
 */
export class RegionFanOut extends Construct {
  public readonly functions: FanOutFunctions;
  public readonly stateMachine: sfn.StateMachine;
  public readonly forwardRules: events.Rule[] = [];
  public readonly completionRule: events.Rule;
  /** The role EventBridge uses to put events on the other regions' buses (absent when every region is this one). */
  public readonly crossRegionRole?: iam.Role;

  constructor(scope: Construct, id: string, props: RegionFanOutProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const region = concreteRegion(this, `RegionFanOut ${id}`);
    const environment = { TABLE_NAME: props.table.tableName, EVENT_BUS_NAME: props.eventBus.eventBusName };
    const functions: Partial<Record<FanOutName, NodejsFunction>> = {};
    for (const name of Object.keys(functionsOf('fanOut')) as FanOutName[]) {
      const fn = new OrchestratorFunction(this, name[0]?.toUpperCase() + name.slice(1), { name, environment }).function;
      const { calls } = FUNCTIONS[name];
      // Items of the parent record only, no listing index (and the table's key, when customer managed).
      grantTableCalls(props.table, fn, calls.table);
      if ((calls.services as readonly string[]).includes('events:PutEvents')) props.eventBus.grantPutEventsTo(fn);
      functions[name] = fn;
    }
    this.functions = functions as FanOutFunctions;
    const fns = this.functions;

    const machineName = `${stack.stackName}-fanOut`;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: machineName,
      definitionBody: sfn.DefinitionBody.fromChainable(new FanOutDeployment(this, 'Flow', { functions: this.functions }).startState),
      comment: 'deployctl: multi-region deployment in region waves',
      timeout: Duration.days(30),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    // Granted by name: a reference to the machine would be a dependency cycle (its definition names the function).
    const machineArn = Arn.format(
      { service: 'states', resource: 'stateMachine', resourceName: machineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME },
      stack,
    );
    for (const [name, fn] of Object.entries(fns) as [FanOutName, NodejsFunction][]) {
      const taskResponses = (FUNCTIONS[name].calls.services as readonly string[]).filter((call) => call.startsWith('states:SendTask'));
      if (taskResponses.length > 0) fn.addToRolePolicy(new iam.PolicyStatement({ actions: taskResponses, resources: [machineArn] }));
    }

    const others = props.regions.filter((r) => r !== region);
    if (others.length) {
      this.crossRegionRole = new iam.Role(this, 'CrossRegionEventsRole', {
        assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
        description: `EventBridge: "${REGIONAL_REQUESTED}" from the control region to ${others.join(', ')}`,
      });
    }
    for (const other of others) {
      this.forwardRules.push(
        new events.Rule(this, `RequestsTo${pascal(other)}`, {
          description: `deployctl: regional deployments requested in ${other} -> ${other}'s bus`,
          eventPattern: { source: [EVENT_SOURCE], detailType: [REGIONAL_REQUESTED], detail: { region: [other] } },
          targets: [
            new targets.EventBus(events.EventBus.fromEventBusArn(this, `${pascal(other)}Bus`, busArn(this, other)), {
              role: this.crossRegionRole,
            }),
          ],
        }),
      );
    }
    this.completionRule = new events.Rule(this, 'RegionCompletions', {
      description: 'deployctl: a regional deployment ended -> record it and wake the fan-out execution',
      eventPattern: { source: [EVENT_SOURCE], detailType: [REGIONAL_COMPLETED] },
      targets: [new targets.LambdaFunction(fns.regionCompleted, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    new CfnOutput(stack, 'FanOutStateMachineArn', {
      description: 'deployctl multi-region fan-out state machine (specs with regions or regionWaves)',
      value: this.stateMachine.stateMachineArn,
    });
  }
}

/** A Lambda the fan-out machine invokes (all but regionCompleted, which EventBridge invokes). */
export const FAN_OUT_INVOKED: readonly FanOutName[] = ['startFanOut', 'requestRegion', 'evaluateRegionWave', 'finalizeFanOut'];
