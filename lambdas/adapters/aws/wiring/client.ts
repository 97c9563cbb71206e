import { tracer } from '#commons/powertools.ts';

/** Adaptive retry mode: throttled SDK calls back off with jitter. */
export const CLIENT_CONFIG = { retryMode: 'adaptive', maxAttempts: 8 } as const;

/** An SDK client whose calls the Powertools tracer records as X-Ray subsegments. */
export function traced<C extends object>(client: C): C {
  return tracer.captureAWSv3Client(client as never) as C;
}
