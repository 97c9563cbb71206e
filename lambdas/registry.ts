import type { Ports } from './ports.ts';

/**
 * Every Lambda function of deployctl, once. lib/ reads it to create the
 * functions and grant each exactly the AWS calls it makes; the local
 * interpreter reads it to bind each Task state to the same handler over the
 * local adapters. Nothing here loads handler or adapter code: `load` is a
 * dynamic import, run only by whoever invokes the function.
 */

/** A handler as Lambda (or the local interpreter) calls it. */
export type LambdaHandler = (event: unknown, context: import('aws-lambda').Context) => Promise<unknown>;

/** The item calls a function may make on the deployment table (IAM action names without `dynamodb:`). */
export type TableCall =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem'
  | 'Query';

/** The calls a function may make besides its table calls (IAM action names). */
export type ServiceCall =
  | 'events:PutEvents'
  | 'states:SendTaskSuccess'
  | 'states:SendTaskFailure'
  | 'states:StartExecution'
  | 'ssm:SendCommand'
  | 'ssm:ListCommands'
  | 'ssm:ListCommandInvocations'
  | 'ssm:DescribeInstanceInformation'
  | 'ssm:GetCalendarState'
  | 'cloudwatch:DescribeAlarms'
  | 'elasticloadbalancing:DescribeListeners'
  | 'elasticloadbalancing:ModifyListener'
  | 'codepipeline:GetPipelineExecution';

/** Which part of the app creates a function (and so which machines and buses it sees). */
export type FunctionGroup = 'orchestrator' | 'fanOut' | 'api' | 'pipeline';

export interface FunctionSpec {
  /** What the function does, shown in the console. */
  readonly description: string;
  readonly group: FunctionGroup;
  /** lambdas/handlers/<handler>.ts holds the handler factory. */
  readonly handler: string;
  /** The name of the handler factory lambdas/handlers/<handler>.ts exports (what `load` answers). */
  readonly factory: string;
  /**
   * A hand-written entry, lambdas/functions/<entry>.ts, for a function whose factory takes more than
   * its ports. Without it the entry is generated from `handler`, `factory` and `ports` (lib/function-entry.ts).
   */
  readonly entry?: string;
  /** The handler factory over the ports: `createX(ports)`. Loaded only when the function runs. */
  readonly load: () => Promise<(ports: never) => LambdaHandler>;
  /** The ports the factory needs: the AWS adapters its entry wires, and so the clients its bundle holds. */
  readonly ports: readonly (keyof Ports)[];
  /** The AWS calls its code makes: the source of its IAM policy (test/infra/iam-coverage.test.ts checks both ways). */
  readonly calls: {
    readonly table: readonly TableCall[];
    /** Calls on the table's listing index (`ListingIndex`). */
    readonly index?: readonly TableCall[];
    readonly services: readonly ServiceCall[];
  };
  /** @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly memoryMB?: number;
}

const RECORD_READ_WRITE: readonly TableCall[] = ['GetItem', 'PutItem', 'UpdateItem'];

export const FUNCTIONS = {
  validateSpec: {
    description: 'Validates the deployment spec, records it and takes the app+env lock',
    group: 'orchestrator',
    handler: 'validate-spec',
    factory: 'createValidateSpec',
    load: () => import('./handlers/validate-spec.ts').then((m) => m.createValidateSpec),
    ports: ['deployments', 'locks', 'audit', 'releases', 'events', 'clock'],
    calls: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
  },
  planWaves: {
    description: 'Resolves the targets and stores the wave plan',
    group: 'orchestrator',
    handler: 'plan-waves',
    factory: 'createPlanWaves',
    load: () => import('./handlers/plan-waves.ts').then((m) => m.createPlanWaves),
    ports: ['deployments', 'waves', 'inventory', 'audit', 'clock'],
    calls: { table: [...RECORD_READ_WRITE, 'BatchWriteItem'], services: ['ssm:DescribeInstanceInformation'] },
    timeoutSeconds: 300,
  },
  runPreChecks: {
    description: 'Checks hosts online, maintenance window, change calendar and alarms before any change',
    group: 'orchestrator',
    handler: 'run-pre-checks',
    factory: 'createRunPreChecks',
    load: () => import('./handlers/run-pre-checks.ts').then((m) => m.createRunPreChecks),
    ports: ['deployments', 'waves', 'audit', 'inventory', 'alarms', 'calendars', 'events', 'clock'],
    calls: {
      table: [...RECORD_READ_WRITE, 'Query'],
      services: ['events:PutEvents', 'ssm:DescribeInstanceInformation', 'ssm:GetCalendarState', 'cloudwatch:DescribeAlarms'],
    },
    timeoutSeconds: 300,
  },
  sendCommand: {
    description: 'Sends a wave (or the rollback) as SSM Run Command and stores the task token',
    group: 'orchestrator',
    handler: 'send-command',
    factory: 'createSendCommand',
    load: () => import('./handlers/send-command.ts').then((m) => m.createSendCommand),
    ports: ['deployments', 'waves', 'audit', 'fleet', 'callbacks', 'events', 'clock'],
    calls: {
      table: [...RECORD_READ_WRITE, 'Query', 'BatchWriteItem'],
      services: ['ssm:SendCommand', 'ssm:ListCommands', 'states:SendTaskSuccess', 'events:PutEvents'],
    },
    timeoutSeconds: 300,
  },
  commandCallback: {
    description: 'Wakes the waiting execution when the last SSM command of a wave finishes',
    group: 'orchestrator',
    handler: 'command-callback',
    factory: 'createCommandCallback',
    load: () => import('./handlers/command-callback.ts').then((m) => m.createCommandCallback),
    ports: ['waves', 'callbacks'],
    calls: { table: ['GetItem', 'UpdateItem'], services: ['states:SendTaskSuccess'] },
  },
  evaluateWave: {
    description: 'Records per-host results and checks the error budget',
    group: 'orchestrator',
    handler: 'evaluate-wave',
    factory: 'createEvaluateWave',
    load: () => import('./handlers/evaluate-wave.ts').then((m) => m.createEvaluateWave),
    ports: ['deployments', 'waves', 'audit', 'fleet', 'events', 'clock'],
    calls: {
      table: [...RECORD_READ_WRITE, 'Query', 'BatchWriteItem'],
      services: ['ssm:ListCommandInvocations', 'events:PutEvents'],
    },
    timeoutSeconds: 300,
  },
  checkAlarms: {
    description: 'Alarm gate after the bake time',
    group: 'orchestrator',
    handler: 'check-alarms',
    factory: 'createCheckAlarms',
    load: () => import('./handlers/check-alarms.ts').then((m) => m.createCheckAlarms),
    ports: ['deployments', 'audit', 'alarms', 'clock'],
    calls: { table: ['GetItem', 'PutItem'], services: ['cloudwatch:DescribeAlarms'] },
  },
  finalize: {
    description: 'Terminal status, release history, lock release and status event',
    group: 'orchestrator',
    handler: 'finalize',
    factory: 'createFinalize',
    load: () => import('./handlers/finalize.ts').then((m) => m.createFinalize),
    ports: ['deployments', 'locks', 'audit', 'releases', 'events', 'clock'],
    calls: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
  },
  checkControls: {
    description: 'Safe point before each wave: abort, pause, change calendar, approval needed',
    group: 'orchestrator',
    handler: 'check-controls',
    factory: 'createCheckControls',
    load: () => import('./handlers/check-controls.ts').then((m) => m.createCheckControls),
    ports: ['deployments', 'calendars', 'audit', 'clock'],
    calls: { table: ['GetItem', 'PutItem', 'UpdateItem'], services: ['ssm:GetCalendarState'] },
  },
  awaitGate: {
    description: 'Parks the execution for an approval or a resume, storing its task token',
    group: 'orchestrator',
    handler: 'await-gate',
    factory: 'createAwaitGate',
    load: () => import('./handlers/await-gate.ts').then((m) => m.createAwaitGate),
    ports: ['deployments', 'audit', 'callbacks', 'events', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['states:SendTaskSuccess', 'events:PutEvents'] },
  },
  controlDeployment: {
    description: 'approve, reject, abort, pause, resume of a running deployment',
    group: 'orchestrator',
    handler: 'control-deployment',
    factory: 'createControlDeployment',
    load: () => import('./handlers/control-deployment.ts').then((m) => m.createControlDeployment),
    ports: ['deployments', 'audit', 'callbacks', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['states:SendTaskSuccess', 'states:SendTaskFailure'] },
  },
  shiftTraffic: {
    description: 'Blue-green: moves the ALB listener to the next traffic step',
    group: 'orchestrator',
    handler: 'shift-traffic',
    factory: 'createShiftTraffic',
    load: () => import('./handlers/shift-traffic.ts').then((m) => m.createShiftTraffic),
    ports: ['deployments', 'audit', 'traffic', 'events', 'clock'],
    calls: {
      table: ['GetItem', 'PutItem'],
      services: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener', 'events:PutEvents'],
    },
  },
  switchBack: {
    description: 'Blue-green: sends all traffic back to blue',
    group: 'orchestrator',
    handler: 'shift-traffic',
    factory: 'createSwitchBack',
    load: () => import('./handlers/shift-traffic.ts').then((m) => m.createSwitchBack),
    ports: ['deployments', 'audit', 'traffic', 'clock'],
    calls: { table: ['GetItem', 'PutItem'], services: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener'] },
  },
  executionStatus: {
    description: 'Finalizes a deployment whose execution was stopped, timed out or failed outside the flow',
    group: 'orchestrator',
    handler: 'execution-status',
    factory: 'createExecutionStatus',
    load: () => import('./handlers/execution-status.ts').then((m) => m.createExecutionStatus),
    ports: ['deployments', 'locks', 'audit', 'releases', 'events', 'clock'],
    calls: { table: [...RECORD_READ_WRITE, 'DeleteItem', 'Query'], services: ['events:PutEvents'] },
  },
  startFanOut: {
    description: 'Multi-region: validates the spec and records the deployment with its region waves',
    group: 'fanOut',
    handler: 'start-fan-out',
    factory: 'createStartFanOut',
    load: () => import('./handlers/start-fan-out.ts').then((m) => m.createStartFanOut),
    ports: ['deployments', 'audit', 'events', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['events:PutEvents'] },
  },
  requestRegion: {
    description: 'Multi-region: stores the wait token and requests one region deployment through EventBridge',
    group: 'fanOut',
    handler: 'request-region',
    factory: 'createRequestRegion',
    load: () => import('./handlers/request-region.ts').then((m) => m.createRequestRegion),
    ports: ['deployments', 'audit', 'regions', 'events', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['events:PutEvents'] },
  },
  regionCompleted: {
    description: 'Multi-region: records a region outcome and wakes the wait for it',
    group: 'fanOut',
    handler: 'region-completed',
    factory: 'createRegionCompleted',
    load: () => import('./handlers/region-completed.ts').then((m) => m.createRegionCompleted),
    ports: ['deployments', 'audit', 'regions', 'callbacks', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['states:SendTaskSuccess'] },
  },
  evaluateRegionWave: {
    description: 'Multi-region: decides after a region wave: go on, stop, or roll back the regions done',
    group: 'fanOut',
    handler: 'evaluate-region-wave',
    factory: 'createEvaluateRegionWave',
    load: () => import('./handlers/evaluate-region-wave.ts').then((m) => m.createEvaluateRegionWave),
    ports: ['deployments', 'audit', 'regions', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: [] },
  },
  finalizeFanOut: {
    description: 'Multi-region: terminal status, counts over every region and status event',
    group: 'fanOut',
    handler: 'finalize-fan-out',
    factory: 'createFinalizeFanOut',
    load: () => import('./handlers/finalize-fan-out.ts').then((m) => m.createFinalizeFanOut),
    ports: ['deployments', 'audit', 'events', 'clock'],
    calls: { table: RECORD_READ_WRITE, services: ['events:PutEvents'] },
  },
  api: {
    description: 'deployctl HTTP API: start, read, approve, reject, abort and roll back deployments',
    group: 'api',
    handler: 'api',
    factory: 'createApiHandler',
    entry: 'api',
    // Its hand-written entry gives the deployment service's ports quick-retry clients (API Gateway waits 29 s at most).
    load: () => import('./handlers/api.ts').then((m) => m.createApiHandler),
    ports: ['deployments', 'locks', 'waves', 'audit', 'releases', 'regions', 'executions', 'callbacks', 'clock'],
    calls: {
      // Reads of records, waves, hosts, events and releases; the controls update META and append an audit event.
      table: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
      // GET /deployments without app and env: the listing index, newest first.
      index: ['Query'],
      // approve, reject, abort and resume answer the waiting gate's task token.
      services: ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
    },
    // API Gateway stops waiting for an integration after 29 seconds.
    timeoutSeconds: 29,
  },
  pipelineTrigger: {
    description: 'Starts a deployment when a CodePipeline pipeline execution succeeds',
    group: 'pipeline',
    handler: 'pipeline-trigger',
    factory: 'createPipelineTrigger',
    entry: 'pipeline-trigger',
    load: () => import('./handlers/pipeline-trigger.ts').then((m) => m.createPipelineTrigger),
    ports: ['executions'],
    calls: { table: [], services: ['states:StartExecution', 'codepipeline:GetPipelineExecution'] },
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof FUNCTIONS;

/** The names of one group's functions. */
export type FunctionNameOf<G extends FunctionGroup> = {
  [K in FunctionName]: (typeof FUNCTIONS)[K]['group'] extends G ? K : never;
}[FunctionName];

/** One value per function of a group, by function name: e.g. `FunctionsOf<'orchestrator', NodejsFunction>`. */
export type FunctionsOf<G extends FunctionGroup, F> = { readonly [K in FunctionNameOf<G>]: F };

/** The functions of one group, by name. */
export function functionsOf<G extends FunctionGroup>(
  group: G,
): { [K in FunctionName as (typeof FUNCTIONS)[K]['group'] extends G ? K : never]: (typeof FUNCTIONS)[K] } {
  return Object.fromEntries(Object.entries(FUNCTIONS).filter(([, spec]) => spec.group === group)) as never;
}
