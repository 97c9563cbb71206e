import { createTable, type LocalDynamo, startDynamoDbLocal } from './dynamodb.ts';
import { LocalOrchestrator, type LocalOrchestratorOptions } from './runner.ts';
import type { SynthesizedOrchestrator } from './synth.ts';
import { cachedOrchestrator } from './synth-cache.ts';

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
  readonly orchestrator: LocalOrchestrator;
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
 * Local (started here unless an endpoint is given) with the table.
 */
export async function startLocalSession(
  options: Omit<LocalOrchestratorOptions, 'synthesized' | 'endpoint' | 'tableName'> & { endpoint?: string; tableName?: string },
): Promise<LocalSession> {
  const definition = await orchestratorDefinition();
  const dynamo = options.endpoint ? undefined : await startDynamoDbLocal();
  const endpoint = options.endpoint ?? (dynamo as LocalDynamo).endpoint;
  const tableName = options.tableName ?? 'deployctl';
  await createTable(endpoint, tableName, definition.table);
  const orchestrator = new LocalOrchestrator({ ...options, synthesized: definition, endpoint, tableName });
  return {
    orchestrator,
    dynamo,
    close: async () => {
      orchestrator.callbacks.cancelAll();
      await dynamo?.stop();
    },
  };
}
