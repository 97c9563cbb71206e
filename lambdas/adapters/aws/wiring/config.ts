import * as z from 'zod';

/**
 * Reads the variables a module needs, once, at cold start: a missing or
 * malformed one fails the function's initialization with its name, not a call later.
 */
export function readEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** A JSON object of strategy -> state machine ARN (`STATE_MACHINE_ARNS`). */
export const StateMachineArns = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of strategy -> state machine ARN' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(z.string().min(1), z.string().regex(/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:.+$/, 'must be a state machine ARN')),
  );
