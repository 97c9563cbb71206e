/**
 * The estimated AWS cost of one deployment at list prices (US East, N.
 * Virginia, USD, on-demand; free tiers left out: this is the marginal cost).
 * Pure: no I/O.
 */

/** List prices, each beside the page that states it. */
export const PRICES = {
  /**
   * Step Functions Standard workflows: $0.025 per 1,000 state transitions (US East (N. Virginia) $0.0250; retries count).
   * https://aws.amazon.com/step-functions/pricing/
   */
  stepFunctionsPerTransition: 0.025 / 1_000,
  /** Lambda requests: $0.20 per 1M requests (x86 and Arm alike). https://aws.amazon.com/lambda/pricing/ */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda duration on Arm, first 7.5 billion GB-seconds a month: $0.0000133334 per GB-second. https://aws.amazon.com/lambda/pricing/ */
  lambdaArmPerGbSecond: 0.000_013_333_4,
  /**
   * DynamoDB on-demand, Standard table class: $0.625 per million write request units (since the
   * November 2024 price cut). https://aws.amazon.com/dynamodb/pricing/on-demand/
   */
  dynamoDbPerWriteRequestUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, Standard table class: $0.125 per million read request units. https://aws.amazon.com/dynamodb/pricing/on-demand/ */
  dynamoDbPerReadRequestUnit: 0.125 / 1_000_000,
} as const;

/** How the orchestrator's functions are configured: lib/orchestrator-function.ts (memorySize default 512, ARM_64). */
export const LAMBDA_MEMORY_MB = 512;

/**
 * Billed Lambda time is not observable locally (the handlers run in this
 * process against DynamoDB Local), so it is modelled: each invocation bills
 * a fixed time for the warm runtime, parsing and Powertools, plus the
 * latency of every AWS call it makes, one after another as the handlers do.
 * These are assumptions (typical in-region latencies), not prices.
 */
export const LAMBDA_TIME_MODEL_MS = {
  perInvocation: 15,
  perDynamoDbCall: 6,
  perSsmCall: 40,
  perCloudWatchCall: 25,
  perEventBridgePut: 20,
} as const;

export interface LambdaWork {
  readonly invocations: number;
  readonly dynamoDbCalls: number;
  readonly ssmCalls: number;
  readonly cloudWatchCalls: number;
  readonly eventBridgePuts: number;
}

/** Modelled Lambda GB-seconds of a deployment (see LAMBDA_TIME_MODEL_MS). */
export function lambdaGbSeconds(work: LambdaWork, memoryMb = LAMBDA_MEMORY_MB): number {
  const m = LAMBDA_TIME_MODEL_MS;
  const ms =
    work.invocations * m.perInvocation +
    work.dynamoDbCalls * m.perDynamoDbCall +
    work.ssmCalls * m.perSsmCall +
    work.cloudWatchCalls * m.perCloudWatchCall +
    work.eventBridgePuts * m.perEventBridgePut;
  return (ms / 1000) * (memoryMb / 1024);
}

export interface Usage {
  readonly transitions: number;
  readonly lambdaInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly readRequestUnits: number;
  readonly writeRequestUnits: number;
}

export interface CostBreakdown {
  readonly stepFunctions: number;
  readonly lambdaRequests: number;
  readonly lambdaDuration: number;
  readonly dynamoDbReads: number;
  readonly dynamoDbWrites: number;
  readonly total: number;
}

/** The deployment's cost in USD, by line. */
export function estimateCost(usage: Usage): CostBreakdown {
  const stepFunctions = usage.transitions * PRICES.stepFunctionsPerTransition;
  const lambdaRequests = usage.lambdaInvocations * PRICES.lambdaPerRequest;
  const lambdaDuration = usage.lambdaGbSeconds * PRICES.lambdaArmPerGbSecond;
  const dynamoDbReads = usage.readRequestUnits * PRICES.dynamoDbPerReadRequestUnit;
  const dynamoDbWrites = usage.writeRequestUnits * PRICES.dynamoDbPerWriteRequestUnit;
  return {
    stepFunctions,
    lambdaRequests,
    lambdaDuration,
    dynamoDbReads,
    dynamoDbWrites,
    total: stepFunctions + lambdaRequests + lambdaDuration + dynamoDbReads + dynamoDbWrites,
  };
}

/** Cost per 1,000 hosts deployed. */
export function perThousandHosts(totalUsd: number, hosts: number): number {
  return hosts === 0 ? 0 : (totalUsd / hosts) * 1000;
}
