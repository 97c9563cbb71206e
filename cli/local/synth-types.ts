import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { FunctionName } from '#registry';
import type { LocalMachines } from './interpreter.ts';

/** A strategy's machine name (the spec's strategy type). */
export type StrategyName = import('#core/spec.ts').DeploymentSpec['strategy']['type'];

/** What local mode takes from the synthesized stack. */
export interface SynthesizedOrchestrator {
  readonly definitions: Record<StrategyName, StateMachineDefinition>;
  /** Placeholder Lambda ARN in the definitions -> the registry function it stands for. */
  readonly handlerByArn: ReadonlyMap<string, FunctionName>;
  /** The table's key schema, as CloudFormation declares it. */
  readonly table: {
    KeySchema: { AttributeName: string; KeyType: string }[];
    AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
    GlobalSecondaryIndexes?: {
      IndexName: string;
      KeySchema: { AttributeName: string; KeyType: string }[];
      Projection?: { ProjectionType?: string };
    }[];
  };
}

/** The fan-out machine as local mode runs it: its definition and the registry function behind each placeholder ARN. */
export interface SynthesizedFanOut {
  readonly definition: StateMachineDefinition;
  readonly handlerByArn: ReadonlyMap<string, FunctionName>;
}

/** The strategy machines of a synthesized stack, as a LocalInterpreter runs them. */
export function strategyMachines(synthesized: SynthesizedOrchestrator): LocalMachines {
  return { definitions: synthesized.definitions, functionByArn: synthesized.handlerByArn };
}
