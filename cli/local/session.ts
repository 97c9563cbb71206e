import { createTable, type LocalDynamo, startDynamoDbLocal } from './dynamodb.ts';
import { LocalRegion, type LocalRegionOptions } from './region.ts';
import { cachedOrchestrator } from './synth-cache.ts';
import { type SynthesizedOrchestrator, strategyMachines } from './synth-types.ts';

export {
  createLocalFleet,
  DEFAULT_LOCAL_HOSTS,
  type FleetFaults,
  LOCAL_BLUE_TG,
  LOCAL_GREEN_TG,
  LOCAL_LISTENER,
  localInstanceId,
  prepareLocalFleet,
  releaseHost,
} from './fleet-setup.ts';

export interface LocalSession {
  /** The local region: its interpreter, ports, StartExecution and deployments service. */
  readonly region: LocalRegion;
  readonly dynamo: LocalDynamo | undefined;
  close(): Promise<void>;
}

let synthesized: Promise<SynthesizedOrchestrator> | undefined;

/** The synthesized stack, once per process (from the synthesis cache while the sources are unchanged). */
export function orchestratorDefinition(): Promise<SynthesizedOrchestrator> {
  synthesized ??= cachedOrchestrator().catch((error: unknown) => {
    synthesized = undefined;
    throw error;
  });
  return synthesized;
}

/**
 * Starts what local mode needs: the synthesized state machines, DynamoDB
 * Local (started here unless an endpoint is given) with the table, and the
 * local region that runs them.
 */
export async function startLocalSession(
  options: Omit<LocalRegionOptions, 'machines' | 'endpoint' | 'tableName'> & { endpoint?: string; tableName?: string },
): Promise<LocalSession> {
  const definition = await orchestratorDefinition();
  const dynamo = options.endpoint ? undefined : await startDynamoDbLocal();
  const endpoint = options.endpoint ?? (dynamo as LocalDynamo).endpoint;
  const tableName = options.tableName ?? 'deployctl';
  await createTable(endpoint, tableName, definition.table);
  const region = new LocalRegion({ ...options, machines: strategyMachines(definition), endpoint, tableName });
  return {
    region,
    dynamo,
    close: async () => {
      region.callbacks.cancelAll();
      await dynamo?.stop();
    },
  };
}
