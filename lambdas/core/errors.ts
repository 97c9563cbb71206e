import type { FieldError } from './spec.ts';

/**
 * Every error deployctl raises, and the names the state machines retry and
 * catch. A class's name is its key in ERROR_CLASS_NAMES (and so in ERRORS),
 * so a state machine's `errors: [ERRORS.AlarmFiring]` and
 * `throw new AlarmFiring(...)` cannot drift apart
 * (test/unit/core/errors.test.ts checks every class).
 */
export const ERROR_CLASS_NAMES = {
  RollbackUnavailable: 'RollbackUnavailable',
  DeploymentExists: 'DeploymentExists',
  RegionalRollbackRefused: 'RegionalRollbackRefused',
  PreCheckFailed: 'PreCheckFailed',
  ControlRefused: 'ControlRefused',
  RevisionNotFound: 'RevisionNotFound',
  NotBlueGreen: 'NotBlueGreen',
  AlarmFiring: 'AlarmFiring',
  DeploymentAborted: 'DeploymentAborted',
  ApprovalRejected: 'ApprovalRejected',
  SpecRejected: 'SpecRejected',
  Locked: 'Locked',
  IdTaken: 'IdTaken',
  BadCursor: 'BadCursor',
  InvalidSpec: 'InvalidSpec',
  InvalidSince: 'InvalidSince',
  InvalidWeights: 'InvalidWeights',
  ListenerNotFound: 'ListenerNotFound',
  InvalidWindow: 'InvalidWindow',
  ChangeCalendarClosed: 'ChangeCalendarClosed',
  CalendarUnavailable: 'CalendarUnavailable',
  RollbackRefused: 'RollbackRefused',
  PlanRefused: 'PlanRefused',
  UnknownStrategy: 'UnknownStrategy',
  LockHeld: 'LockHeld',
  RecordNotFound: 'RecordNotFound',
  TokenNotFound: 'TokenNotFound',
  UnsupportedCron: 'UnsupportedCron',
} as const;

/** Names only a state machine's Fail states raise: no class carries them. */
export const FAIL_STATE_NAMES = {
  DeploymentNotStarted: 'DeploymentNotStarted',
  DeploymentRolledBack: 'DeploymentRolledBack',
  DeploymentFailed: 'DeploymentFailed',
  FinalizeFailed: 'FinalizeFailed',
} as const;

/** Step Functions' own error names: any error, and a task that ran past its timeout. */
export const STATES_ERRORS = { ALL: 'States.ALL', Timeout: 'States.Timeout' } as const;

/** The names Step Functions gives a Lambda invocation's faults. */
export const LAMBDA_ERRORS = {
  ServiceException: 'Lambda.ServiceException',
  AWSLambdaException: 'Lambda.AWSLambdaException',
  SdkClientException: 'Lambda.SdkClientException',
  TooManyRequestsException: 'Lambda.TooManyRequestsException',
  /** The function died: out of memory, timed out, crashed. */
  Unknown: 'Lambda.Unknown',
  ClientExecutionTimeoutException: 'Lambda.ClientExecutionTimeoutException',
} as const;

/** AWS throttling, as the SDK names it in an error a handler lets through. */
export const THROTTLING_ERRORS = {
  ThrottlingException: 'ThrottlingException',
  ProvisionedThroughputExceededException: 'ProvisionedThroughputExceededException',
  TooManyUpdates: 'TooManyUpdates',
} as const;

/**
 * Every error name, for `addRetry`/`addCatch` and Fail states: the class
 * names and the Fail state names by name, Step Functions' and Lambda's under
 * `States` and `Lambda`, throttling under `Throttling`.
 */
export const ERRORS = {
  ...ERROR_CLASS_NAMES,
  ...FAIL_STATE_NAMES,
  States: STATES_ERRORS,
  Lambda: LAMBDA_ERRORS,
  Throttling: THROTTLING_ERRORS,
} as const;

/** A name an error class or a Fail state carries. */
export type ErrorName = keyof typeof ERROR_CLASS_NAMES | keyof typeof FAIL_STATE_NAMES;

/** Errors worth retrying: Lambda's own transient faults and AWS throttling. */
export const TRANSIENT_ERRORS: readonly string[] = [
  LAMBDA_ERRORS.ServiceException,
  LAMBDA_ERRORS.AWSLambdaException,
  LAMBDA_ERRORS.SdkClientException,
  LAMBDA_ERRORS.TooManyRequestsException,
  THROTTLING_ERRORS.ThrottlingException,
  THROTTLING_ERRORS.ProvisionedThroughputExceededException,
  THROTTLING_ERRORS.TooManyUpdates,
];

/**
 * A function that died (out of memory, timed out, crashed): Step Functions
 * reports these as Lambda.Unknown. Every task is safe to run again (the
 * handlers resume, write once and never send a command twice), so it is retried.
 */
export const CRASH_ERRORS: readonly string[] = [LAMBDA_ERRORS.Unknown, LAMBDA_ERRORS.ClientExecutionTimeoutException];

/**
 * What Step Functions answers SendTaskSuccess/SendTaskFailure with when the
 * task no longer waits (it timed out, the execution ended, or the token was
 * never valid): a late answer, not a fault.
 */
export const CLOSED_TOKEN_ERRORS: readonly string[] = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'];

/** Whether an error says the task token's wait has ended (see CLOSED_TOKEN_ERRORS). */
export function isClosedToken(error: unknown): boolean {
  return error instanceof Error && CLOSED_TOKEN_ERRORS.includes(error.name);
}

export class RollbackUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.RollbackUnavailable;
  }
}

/** The deployment id was used by another execution: its record is left as it is. */
export class DeploymentExists extends Error {
  constructor(message: string) {
    super(message);
    this.name = ERRORS.DeploymentExists;
  }
}

/** The roll-back-all policy cannot roll a region back (it has no previous version). */
export class RegionalRollbackRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.RegionalRollbackRefused;
  }
}

export class PreCheckFailed extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.PreCheckFailed;
  }
}

/** The control cannot apply to the deployment as it stands (finished, not waiting, not paused...). */
export class ControlRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.ControlRefused;
  }
}

/** The pipeline execution has no source revision to deploy (or not the configured artifact). */
export class RevisionNotFound extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.RevisionNotFound;
  }
}

/** The deployment is not blue-green: these states only run in its state machine. */
export class NotBlueGreen extends Error {
  constructor(message: string) {
    super(message);
    this.name = ERRORS.NotBlueGreen;
  }
}

export class AlarmFiring extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.AlarmFiring;
  }
}

/** Someone asked to abort: the execution rolls back the changed hosts and ends ABORTED. Caught by name. */
export class DeploymentAborted extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.DeploymentAborted;
  }
}

/** An approver said no. Caught by name. */
export class ApprovalRejected extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.ApprovalRejected;
  }
}

/** The request is not a valid spec; nothing was started. */
export class SpecRejected extends Error {
  constructor(
    readonly fieldErrors: readonly FieldError[],
    options?: ErrorOptions,
  ) {
    super(`the deployment spec is invalid: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, options);
    this.name = ERRORS.SpecRejected;
  }
}

/** Another live deployment holds the app+env lock. */
export class Locked extends Error {
  constructor(
    readonly holder: string,
    message: string,
  ) {
    super(message);
    this.name = ERRORS.Locked;
  }
}

/** The deployment id is taken by a different deployment. */
export class IdTaken extends Error {
  constructor(message: string) {
    super(message);
    this.name = ERRORS.IdTaken;
  }
}

/** A pagination cursor that this service did not hand out. */
export class BadCursor extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.BadCursor;
  }
}

export class InvalidSpec extends Error {
  constructor(
    readonly fieldErrors: readonly FieldError[],
    options?: ErrorOptions,
  ) {
    super(`invalid deployment spec: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, options);
    this.name = ERRORS.InvalidSpec;
  }
}

/** A --since value that is neither a duration nor a date in the past. */
export class InvalidSince extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.InvalidSince;
  }
}

/** Weights that ELBv2 would refuse, or that would send traffic nowhere. */
export class InvalidWeights extends Error {
  constructor(
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`invalid target group weights: ${problems.join('; ')}`, options);
    this.name = ERRORS.InvalidWeights;
  }
}

/** The listener does not exist (any more). */
export class ListenerNotFound extends Error {
  constructor(
    readonly listenerArn: string,
    options?: ErrorOptions,
  ) {
    super(`listener ${listenerArn} does not exist`, options);
    this.name = ERRORS.ListenerNotFound;
  }
}

export class InvalidWindow extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.InvalidWindow;
  }
}

/** The spec's change calendar is CLOSED at a safe point between waves, and its window says `outside: refuse`. */
export class ChangeCalendarClosed extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.ChangeCalendarClosed;
  }
}

/** SSM cannot say the change calendar's state: no such calendar document, not a calendar, or an unsupported entry. */
export class CalendarUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.CalendarUnavailable;
  }
}

/** A finished deployment that cannot be rolled back as asked. */
export class RollbackRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.RollbackRefused;
  }
}

export class PlanRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.PlanRefused;
  }
}

/** The stack has no state machine for this strategy (e.g. the fan-out outside the control region). */
export class UnknownStrategy extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.UnknownStrategy;
  }
}

export class LockHeld extends Error {
  constructor(
    readonly holder: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = ERRORS.LockHeld;
  }
}

export class RecordNotFound extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.RecordNotFound;
  }
}

/** Raised when a callback arrives before the sender stored its token; the event source retries. */
export class TokenNotFound extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERRORS.TokenNotFound;
  }
}

/** A five-field cron that EventBridge Scheduler cannot express. */
export class UnsupportedCron extends Error {
  constructor(
    readonly cron: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`cron "${cron}": ${reason}`, options);
    this.name = ERRORS.UnsupportedCron;
  }
}
