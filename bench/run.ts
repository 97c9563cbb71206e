// `npm run bench`. The handlers run in this process: keep their Powertools
// output quiet (set before they are imported).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

const { main } = await import('./bench.ts');
process.exitCode = await main();
