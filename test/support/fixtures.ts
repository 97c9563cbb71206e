import type { Context } from 'aws-lambda';
import { type DeploymentStatus, keys } from '#core/records.ts';
import { type DeploymentSpec, type DeploymentSpecInput, parseSpec } from '#core/spec.ts';
import type { DeploymentState } from '#core/state.ts';
import type { Clock } from '#ports';

/** Shared fixtures for the unit tests, free of AWS SDK imports (this file holds no tests). */

export const TABLE = 'deployctl-test';
export const BUS = 'deployctl-bus';
export const DEPLOYMENT_ID = 'dep-1';
export const NOW = new Date('2026-01-01T00:00:00Z');
export const NOW_EPOCH_SECONDS = NOW.getTime() / 1000;
export const fixedClock: Clock = { now: () => new Date(NOW) };

/** A minimal Lambda context: the Powertools logger reads these fields. */
export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'deployctl-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:deployctl-test',
  memoryLimitInMB: '512',
  awsRequestId: 'c0ffee00-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/deployctl-test',
  logStreamName: '2026/01/01/[$LATEST]0000',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

/** A valid EC2 instance id for host number n. */
export function host(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

export function hosts(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => host(from + i));
}

export const minimalSpecInput = {
  app: 'web',
  environment: 'prod',
  version: '1.2.3',
  targets: { tags: { Role: 'web' } },
} satisfies DeploymentSpecInput;

/** A parsed spec, as validate-spec stores it in the META record. */
export function specOf(overrides: Partial<DeploymentSpecInput> = {}): DeploymentSpec {
  return parseSpec({ ...minimalSpecInput, deploymentId: DEPLOYMENT_ID, ...overrides });
}

export function metaItem(spec: DeploymentSpec, status: DeploymentStatus = 'RUNNING', extra: Record<string, unknown> = {}) {
  return {
    ...keys.meta(DEPLOYMENT_ID),
    deploymentId: DEPLOYMENT_ID,
    spec,
    status,
    createdAt: '2025-12-31T23:00:00.000Z',
    updatedAt: '2025-12-31T23:00:00.000Z',
    ...extra,
  };
}

export function stateOf(overrides: Partial<DeploymentState> = {}): DeploymentState {
  return {
    deploymentId: DEPLOYMENT_ID,
    wave: 0,
    waveCount: 1,
    hostCount: 0,
    succeeded: 0,
    failed: 0,
    bakeSeconds: 0,
    waitSeconds: 720,
    ...overrides,
  };
}
