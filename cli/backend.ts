import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { CloudWatchAlarms } from '#adapters/aws/cloudwatch.ts';
import { SfnExecutions } from '#adapters/aws/executions.ts';
import { dynamoRecords } from '#adapters/aws/records/index.ts';
import { SfnCallbacks } from '#adapters/aws/sfn.ts';
import { SsmInventory } from '#adapters/aws/ssm.ts';
import { LocalCallbacks, LocalEvents } from '#adapters/local/callbacks.ts';
import { LocalAlarms, LocalFleet } from '#adapters/local/fleet.ts';
import { closeDeployment } from '#app/close.ts';
import { createDeploymentService, type DeploymentService } from '#app/deployments.ts';
import { type Alarms, type Executions, type Inventory, type RecordStores, systemClock } from '#ports';
import { createTable, localDocumentClient, tableExists } from './local/dynamodb.ts';
import { openWorkspace, type Workspace } from './local/workspace.ts';
import { BadInput } from './spec-input.ts';

/** Where a command works: the local folder, or a deployed stack in an AWS account. */
export interface TargetOptions {
  readonly local?: boolean;
  readonly stateDir: string;
  readonly dynamodbEndpoint?: string;
  readonly table?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly stack: string;
}

export interface Backend {
  readonly mode: 'local' | 'aws';
  readonly service: DeploymentService;
  readonly records: RecordStores;
  /** Resolves targets to hosts (for `plan`). */
  readonly inventory: Inventory;
  /** The gate alarms' states (for `watch`). */
  readonly alarms: Alarms;
  /** The local folder (local mode only). */
  readonly workspace?: Workspace;
  /**
   * Local mode's StopExecution for a deployment no process runs any more: closes it
   * as ABORTED (status, release history, lock), as the execution-status rule does
   * for a stopped execution in AWS (local mode only).
   */
  readonly closeStranded?: (deploymentId: string, by: string, comment?: string) => Promise<void>;
  close(): Promise<void>;
}

/** The stack outputs the CLI reads to find the table and the state machines. */
const StackOutputs = z.object({
  TableName: z.string().min(1),
  StateMachineArns: z
    .string()
    .transform((json) => JSON.parse(json) as unknown)
    .pipe(z.record(z.string(), z.string().startsWith('arn:'))),
});

/**
 * StartExecution for a local command: the first start opens the local region
 * (the synthesized machines, from the synthesis cache) and runs the execution
 * in this process on its interpreter; `close()` waits for every execution
 * started here to end, since nothing else would run it.
 */
function localExecutions(workspace: Workspace): Executions & { close(): Promise<void> } {
  let session: Promise<import('./local/session.ts').LocalSession> | undefined;
  return {
    async start(machine, name, input) {
      session ??= import('./local/session.ts').then(({ startLocalSession }) =>
        startLocalSession({
          fleetDir: workspace.fleetDir,
          endpoint: workspace.endpoint,
          tableName: workspace.tableName,
          callbackInbox: workspace.inbox,
        }),
      );
      return (await session).region.executions.start(machine, name, input);
    },
    async close() {
      if (!session) return;
      const opened = await session;
      await opened.region.executions.settle();
      await opened.close();
    },
  };
}

/** The backend for a command: local (the state folder) or AWS (the stack's table and machines, with the profile and region). */
export async function openBackend(options: TargetOptions): Promise<Backend> {
  if (options.local) {
    const workspace = await openWorkspace({
      stateDir: options.stateDir,
      ...(options.dynamodbEndpoint ? { dynamoEndpoint: options.dynamodbEndpoint } : {}),
      ...(options.table ? { tableName: options.table } : {}),
    });
    // A folder with no deployment yet gets its (empty) table, so that reads answer "no record".
    if (!(await tableExists(workspace.endpoint, workspace.tableName))) {
      // Loaded only here: synthesizing even the table stack costs seconds (once per change of the sources: it is cached).
      const { cachedTable } = await import('./local/synth-cache.ts');
      await createTable(workspace.endpoint, workspace.tableName, await cachedTable());
    }
    const records = dynamoRecords(localDocumentClient(workspace.endpoint), workspace.tableName);
    const executions = localExecutions(workspace);
    const service = createDeploymentService({
      ...records,
      executions,
      callbacks: new LocalCallbacks(workspace.inbox),
      clock: systemClock,
    });
    const inventory = new LocalFleet({ dir: workspace.fleetDir, documents: {}, onCommandFinished: () => undefined });
    const alarms = new LocalAlarms(workspace.fleetDir);
    const close = async () => {
      await executions.close();
      await workspace.close();
    };
    const closeStranded = async (deploymentId: string, by: string, comment?: string) => {
      await closeDeployment(
        { ...records, events: new LocalEvents() },
        deploymentId,
        {
          status: 'ABORTED',
          reason: `aborted by ${by}: no local process ran the deployment any more`,
          event: { type: 'Aborted', actor: by, detail: comment ? { comment } : {} },
        },
        systemClock.now(),
      );
    };
    return { mode: 'local', service, records, inventory, alarms, workspace, closeStranded, close };
  }
  return awsBackend(options);
}

/** AWS clients for the user's profile and region: adaptive retries, nothing else. */
export function awsClientConfig(options: Pick<TargetOptions, 'region' | 'profile'>) {
  return {
    retryMode: 'adaptive',
    maxAttempts: 5,
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  } as const;
}

async function awsBackend(options: TargetOptions): Promise<Backend> {
  const config = awsClientConfig(options);
  const cloudformation = new CloudFormationClient(config);
  const outputs = await readStackOutputs(cloudformation, options.stack);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  const sfn = new SFNClient(config);
  const records = dynamoRecords(db, outputs.TableName);
  const service = createDeploymentService({
    ...records,
    executions: new SfnExecutions(sfn, outputs.StateMachineArns),
    callbacks: new SfnCallbacks(sfn),
    clock: systemClock,
  });
  return {
    mode: 'aws',
    service,
    records,
    inventory: new SsmInventory(new SSMClient(config)),
    alarms: new CloudWatchAlarms(new CloudWatchClient(config)),
    close: async () => undefined,
  };
}

/** The deployctl stack's outputs: table name and state machine ARNs by strategy. */
export async function readStackOutputs(cloudformation: CloudFormationClient, stackName: string): Promise<z.infer<typeof StackOutputs>> {
  const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const parsed = StackOutputs.safeParse(outputs);
  if (!parsed.success) {
    throw new BadInput(
      `stack ${stackName} does not have the deployctl outputs (TableName, StateMachineArns); deploy it with \`npx cdk deploy\` or name it with --stack`,
    );
  }
  return parsed.data;
}
