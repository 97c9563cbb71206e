import { performance } from 'node:perf_hooks';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** DynamoDB requests of one run, as the SDK sent them, with the capacity DynamoDB (Local) reported for them. */
export interface DynamoDbUsage {
  /** Requests by operation (GetItem, Query, BatchWriteItem, ...). */
  readonly requests: Record<string, number>;
  reads: number;
  writes: number;
  readRequestUnits: number;
  writeRequestUnits: number;
  /** Per-host results (HOST# items): BatchWriteItem calls that carried them, items, the most in one call. */
  readonly hostResults: { batchCalls: number; items: number; largestBatch: number; singleItemWrites: number };
  /** GetItem of a command's task token (CMD#): one per invocation of the SSM status callback. */
  tokenLookups: number;
  /** Wall time during which at least one request was waiting for DynamoDB (Local). */
  busyMs: number;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
/** What lib-dynamodb's commands are called on the wire. */
const WIRE_NAME: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A key attribute as a string, from native (document client) or attribute-value form. */
function keyString(value: unknown): string {
  if (typeof value === 'string') return value;
  return isRecord(value) && typeof value.S === 'string' ? value.S : '';
}

/** Capacity units in a ConsumedCapacity field (one entry or one per table). */
function capacityUnits(consumed: unknown): number | undefined {
  const entries = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  if (entries.length === 0) return undefined;
  return entries.reduce<number>((sum, e) => sum + (isRecord(e) && typeof e.CapacityUnits === 'number' ? e.CapacityUnits : 0), 0);
}

/** The items a BatchWriteItem puts, all tables together. */
function batchItems(input: Json): Json[] {
  const requests = isRecord(input.RequestItems) ? Object.values(input.RequestItems) : [];
  return requests
    .flatMap((list) => (Array.isArray(list) ? list : []))
    .flatMap((r) => (isRecord(r) && isRecord(r.PutRequest) && isRecord(r.PutRequest.Item) ? [r.PutRequest.Item] : []));
}

/**
 * Counts every request the client sends, at the SDK level (a middleware at
 * the top of its stack, which the document client shares), and asks
 * DynamoDB for the capacity each one consumed (ReturnConsumedCapacity
 * TOTAL: table and indexes), which is what on-demand bills as request
 * units. A request that fails (a condition not met) is counted with one unit,
 * as DynamoDB charges it.
 */
export function meterDynamoDb(client: unknown): DynamoDbUsage {
  if (!(client instanceof DynamoDBDocumentClient)) throw new TypeError('the records are not kept through a DynamoDB document client');
  const usage: DynamoDbUsage = {
    requests: {},
    reads: 0,
    writes: 0,
    readRequestUnits: 0,
    writeRequestUnits: 0,
    hostResults: { batchCalls: 0, items: 0, largestBatch: 0, singleItemWrites: 0 },
    tokenLookups: 0,
    busyMs: 0,
  };
  // Requests of handlers that run at the same time (a callback while a wave is sent) overlap: busy time counts them once.
  let inFlight = 0;
  let busySince = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? '').replace(/Command$/, '');
      const operation = WIRE_NAME[name] ?? name;
      const input: Json = isRecord(args.input) ? args.input : {};
      usage.requests[operation] = (usage.requests[operation] ?? 0) + 1;
      const read = READS.has(operation);
      const write = WRITES.has(operation);
      if (read) usage.reads++;
      if (write) usage.writes++;
      const key = isRecord(input.Key) ? input.Key : isRecord(input.Item) ? input.Item : {};
      if (operation === 'GetItem' && keyString(key.pk).startsWith('CMD#')) usage.tokenLookups++;
      if ((operation === 'PutItem' || operation === 'UpdateItem') && keyString(key.sk).startsWith('HOST#'))
        usage.hostResults.singleItemWrites++;
      if (operation === 'BatchWriteItem') {
        const hosts = batchItems(input).filter((item) => keyString(item.sk).startsWith('HOST#')).length;
        if (hosts > 0) {
          usage.hostResults.batchCalls++;
          usage.hostResults.items += hosts;
          usage.hostResults.largestBatch = Math.max(usage.hostResults.largestBatch, hosts);
        }
      }
      let units: number | undefined;
      if (inFlight++ === 0) busySince = performance.now();
      try {
        const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } as typeof args.input });
        const output: unknown = result.output;
        units = capacityUnits(isRecord(output) ? output.ConsumedCapacity : undefined);
        return result;
      } finally {
        if (--inFlight === 0) usage.busyMs += performance.now() - busySince;
        if (read) usage.readRequestUnits += units ?? 1;
        if (write) usage.writeRequestUnits += units ?? 1;
      }
    },
    { step: 'initialize', name: 'benchDynamoDbMeter', priority: 'high' },
  );
  return usage;
}
