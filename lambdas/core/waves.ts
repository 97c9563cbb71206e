import type { HostResult } from '#core/records.ts';
import { ROLLBACK_WAVE, VALIDATE_WAVE } from '#core/records.ts';
import type { Invocation } from '#ports';

/** What a command does to a wave's hosts: deploy the version, roll back, or validate green (blue-green). */
export type Phase = 'deploy' | 'rollback' | 'validate';

/** The wave record each non-deploy phase uses. */
export const WAVE_OF = { rollback: ROLLBACK_WAVE, validate: VALIDATE_WAVE } as const;

/** The audit event and the status a phase's sending announces. */
export const STARTED = {
  deploy: { event: 'WaveStarted', status: 'WAVE_STARTED' },
  rollback: { event: 'RollbackStarted', status: 'ROLLING_BACK' },
  validate: { event: 'ValidationStarted', status: 'VALIDATING' },
} as const;

/**
 * The command's comment (at most 100 characters): unique per deployment, phase,
 * wave and batch, so a retry can find the command by it. The id goes last, so
 * the rest survives if a long id is cut.
 */
export function commentFor(id: string, phase: Phase, wave: number, batch: number, batches: number): string {
  const what = phase === 'deploy' ? `wave ${wave + 1}` : phase;
  return `deployctl ${what} batch ${batch + 1}/${batches} ${id}`.slice(0, 100);
}

const SUFFIX = { deploy: '', rollback: '#ROLLBACK', validate: '#VALIDATE' } as const;
/** Command output kept per host: as much as SSM returns inline. */
const OUTPUT_CHARS = 2500;
const UNSETTLED = ['Pending', 'InProgress', 'Delayed'];

/**
 * Each host's result from the invocations SSM reports for the wave's
 * commands: a host still running when the wait ended has NoResult, a host SSM
 * never mentions is Undeliverable.
 */
export function hostResultsOf(
  hosts: readonly string[],
  seen: ReadonlyMap<string, Invocation & { commandId: string }>,
  phase: Phase,
  wave: number,
  version: string | undefined,
): HostResult[] {
  return hosts.map((instanceId) => {
    const inv = seen.get(instanceId);
    const settled = inv && !UNSETTLED.includes(inv.status);
    return {
      instanceId: `${instanceId}${SUFFIX[phase]}`,
      wave,
      phase,
      status: inv ? (settled ? inv.status : 'NoResult') : 'Undeliverable',
      statusDetails: inv
        ? settled
          ? inv.statusDetails
          : `still ${inv.status} when the wait ended`
        : 'SSM reported no invocation for this host',
      commandId: inv?.commandId ?? '',
      version,
      ...(inv?.output ? { output: inv.output.slice(-OUTPUT_CHARS) } : {}),
    };
  });
}

const SHOWN_HOSTS = 10;

/** Up to ten host ids, then how many more. */
export function hostList(ids: readonly string[]): string {
  return ids.length <= SHOWN_HOSTS ? ids.join(', ') : `${ids.slice(0, SHOWN_HOSTS).join(', ')} and ${ids.length - SHOWN_HOSTS} more`;
}
