#!/usr/bin/env -S npx tsx
// Local mode runs the real handlers in this process: keep their Powertools
// output quiet unless asked (set before the handlers are imported).
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes('--verbose') ? 'INFO' : 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

const { main } = await import('#cli/main.ts');
process.exitCode = await main(process.argv);
