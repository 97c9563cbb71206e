import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { createDeploymentService, type DeploymentService } from '#app/deployments.ts';
import { CloudWatchAlarms } from '../lambdas/adapters/aws/cloudwatch.ts';
import { SfnExecutions } from '../lambdas/adapters/aws/executions.ts';
import { dynamoRecords } from '../lambdas/adapters/aws/records/index.ts';
import { SfnCallbacks } from '../lambdas/adapters/aws/sfn.ts';
import { SsmInventory } from '../lambdas/adapters/aws/ssm.ts';
import { LocalCallbacks } from '../lambdas/adapters/local/callbacks.ts';
import { LocalAlarms, LocalFleet } from '../lambdas/adapters/local/fleet.ts';
import { type Alarms, type Executions, type Inventory, type RecordStores, systemClock } from '../lambdas/ports.ts';
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

/** Local mode has no StartExecution outside `deploy`, `rollback` and `serve`, which run the machines themselves. */
const noExecutions: Executions = {
  start: async () => {
    throw new Error('local executions run in the process of `deployctl deploy --local`, `rollback --local` or `serve --local`');
  },
};

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
    const service = createDeploymentService({
      ...records,
      executions: noExecutions,
      callbacks: new LocalCallbacks(workspace.inbox),
      clock: systemClock,
    });
    const inventory = new LocalFleet({ dir: workspace.fleetDir, documents: {}, onCommandFinished: () => undefined });
    const alarms = new LocalAlarms(workspace.fleetDir);
    return { mode: 'local', service, records, inventory, alarms, workspace, close: () => workspace.close() };
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
