import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { FUNCTIONS, FunctionGroup, FunctionName } from '#registry';

/** The functions of one registry group, by their registry names (validateSpec, planWaves, ...). */
export type FunctionsOf<G extends FunctionGroup> = {
  readonly [K in FunctionName as (typeof FUNCTIONS)[K]['group'] extends G ? K : never]: lambda.IFunction;
};

/** The functions the strategy machines (the wave strategies and blue-green) invoke. */
export type StrategyFunctions = FunctionsOf<'orchestrator'>;

/** The control region's fan-out functions. */
export type FanOutFunctions = FunctionsOf<'fanOut'>;

/** A fan-out function's registry name. */
export type FanOutHandlerName = keyof FanOutFunctions;
