import * as z from 'zod';

/**
 * What the state machine carries from state to state: references and
 * counters only. Host lists and plans live in DynamoDB, so the payload stays
 * a few hundred bytes whatever the fleet size.
 */
export const DeploymentState = z.object({
  deploymentId: z.string().min(1),
  /** For the logs of every task (a few bytes; the spec itself stays in DynamoDB). */
  app: z.string().optional(),
  environment: z.string().optional(),
  /** Index of the wave to run next (after evaluation: of the following wave). */
  wave: z.number().int().min(0),
  waveCount: z.number().int().min(0),
  hostCount: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  bakeSeconds: z.number().int().min(0),
  waitSeconds: z.number().int().min(1),
  verdict: z.enum(['continue', 'failed']).optional(),
  /** The spec's failure policy, for the state machine's choice after a failed gate. */
  onFailure: z.enum(['rollback', 'pause', 'abort']).optional(),
  /** What the controls check decided at the last safe point: hold for a resume, wait for an approval, or go on. */
  gate: z.enum(['go', 'approval', 'paused']).optional(),
  /**
   * Set while the execution waits for its maintenance window (policy `wait`):
   * the next opening, which the "Wait For Maintenance Window" state waits for.
   */
  windowOpensAt: z.iso.datetime().optional(),
  /** Blue-green: index of the next traffic step, and how many there are. */
  trafficStep: z.number().int().min(0).optional(),
  trafficSteps: z.number().int().min(0).optional(),
  /** Blue-green: how long blue stays ready for a switch-back after the last shift. */
  keepBlueSeconds: z.number().int().min(0).optional(),
  outcome: z.enum(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'ABORTED']).optional(),
  reason: z.string().optional(),
  /** Set by a Catch: the error that sent the execution to rollback or failure. */
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  /** What the callback (or the wait's timeout) returned. */
  callback: z.unknown().optional(),
});
export type DeploymentState = z.infer<typeof DeploymentState>;

/** The human reason behind a Catch: Lambda errors carry a JSON Cause. */
export function reasonOf(error: { Error: string; Cause?: string | undefined }): string {
  if (error.Cause) {
    try {
      const parsed = JSON.parse(error.Cause) as { errorMessage?: unknown };
      if (typeof parsed.errorMessage === 'string') return `${error.Error}: ${parsed.errorMessage}`;
    } catch {
      // a plain-text cause
    }
    return error.Cause.startsWith(error.Error) ? error.Cause : `${error.Error}: ${error.Cause}`;
  }
  return error.Error;
}

/**
 * How an execution ends, from what its states left: the outcome a Pass state
 * marked (else FAILED after a caught error, SUCCEEDED otherwise), and the
 * reason: the caught error first, then what the states said.
 */
export function endingOf(state: {
  readonly outcome?: 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED' | undefined;
  readonly error?: { Error: string; Cause?: string | undefined } | undefined;
  readonly reason?: string | undefined;
}): { status: 'SUCCEEDED' | 'FAILED' | 'ROLLED_BACK' | 'ABORTED'; reason: string | undefined } {
  const status = state.outcome ?? (state.error ? 'FAILED' : 'SUCCEEDED');
  const reason = [state.error ? reasonOf(state.error) : undefined, state.reason].filter(Boolean).join('; ') || undefined;
  return { status, reason };
}
