/** @deprecated import from `#core/limits.ts`; kept while other modules move over. */
export { chunk, LOCK_TTL_SECONDS, SEND_COMMAND_LIMIT, WAIT_MARGIN_SECONDS } from '#core/limits.ts';
export type { Deps } from '#ports';
