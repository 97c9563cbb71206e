import type { StatusChangeDetail } from './core/events.ts';
import type { RegionalCompleted, RegionalRequested } from './core/regions.ts';

/**
 * What the core and the handlers need from the outside world. The AWS
 * adapters (lambdas/adapters/aws) implement these for Lambda; the local
 * adapters (lambdas/adapters/local) for the local fleet. Handlers receive
 * them through `Deps`, chosen at the edge.
 */

export interface CommandRequest {
  readonly instanceIds: readonly string[];
  readonly document: string;
  readonly parameters: Readonly<Record<string, readonly string[]>>;
  readonly timeoutSeconds: number;
  readonly comment: string;
}

/** SSM's per-host invocation status, as ListCommandInvocations reports it. */
export type InvocationStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'TimedOut'
  | 'Failed'
  | 'Cancelling'
  | 'Undeliverable'
  | 'Terminated'
  | 'DeliveryTimedOut'
  | 'ExecutionTimedOut'
  | 'AccessDenied'
  | 'InvalidPlatform'
  | 'NoInstancesInTag';

export interface Invocation {
  readonly instanceId: string;
  readonly status: InvocationStatus | string;
  readonly statusDetails: string;
  readonly output?: string;
}

/** SSM Run Command. */
export interface FleetCommands {
  /** Sends one command to at most 50 instances and returns its command id. */
  send(request: CommandRequest): Promise<string>;
  /** Every host's invocation of a command (all pages). */
  invocations(commandId: string): Promise<Invocation[]>;
  /**
   * The id of a command already sent to `instanceId` with exactly this
   * document and comment since `after`, if any (SSM ListCommands): how a
   * retried send finds the command an earlier attempt sent before it died.
   */
  findCommand(query: { instanceId: string; document: string; comment: string; after: Date }): Promise<string | undefined>;
}

export interface HostInfo {
  readonly instanceId: string;
  /** SSM PingStatus: Online, ConnectionLost, Inactive, or Unknown when SSM does not know the host. */
  readonly pingStatus: string;
}

/** Which hosts a target selector means, and whether SSM can reach them. */
export interface Inventory {
  resolve(targets: { tags?: Record<string, string>; instanceIds?: string[]; resourceGroup?: string }): Promise<string[]>;
  pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]>;
}

export interface AlarmState {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | string;
  readonly reason?: string;
}

/** CloudWatch alarms. */
export interface Alarms {
  describe(selector: { names?: string[]; prefix?: string }): Promise<AlarmState[]>;
}

/** Step Functions task tokens. */
export interface TaskCallbacks {
  succeed(token: string, output: unknown): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
}

/** One target group of a weighted forward action and its weight (an integer from 0 to 999). */
export interface TargetGroupWeight {
  readonly targetGroupArn: string;
  readonly weight: number;
}

/** An ALB listener's weighted forward action (Elastic Load Balancing v2). */
export interface Traffic {
  /** The listener's current default forward weights. */
  weights(listenerArn: string): Promise<TargetGroupWeight[]>;
  /** Replaces the listener's default action with one weighted forward to these target groups. */
  shift(listenerArn: string, weights: readonly TargetGroupWeight[]): Promise<void>;
}

export interface StatusEvent {
  readonly detailType: 'Deployment Status Change';
  readonly detail: StatusChangeDetail;
}

/** Multi-region: between the control region and a region (see lambdas/core/regions.ts). */
export type RegionalEvent =
  | { readonly detailType: 'Regional Deployment Requested'; readonly detail: RegionalRequested }
  | { readonly detailType: 'Regional Deployment Completed'; readonly detail: RegionalCompleted };

/** EventBridge. */
export interface Events {
  put(event: StatusEvent | RegionalEvent): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Starting a strategy's state machine. */
export interface Executions {
  /**
   * Starts an execution named `name` (the deployment id) with `input`. A
   * repeat with the same name and input starts nothing new and answers the
   * same execution, as StartExecution does.
   */
  start(strategy: string, name: string, input: unknown): Promise<{ readonly executionArn: string }>;
}
