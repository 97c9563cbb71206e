import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // At least two files at a time (vitest's default leaves one worker on a 2-core machine): most files spend their
    // time waiting for spawned deployctl processes, DynamoDB Local and host scripts rather than computing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Flows poll DynamoDB Local while a deployment runs; on a loaded 2-core machine a second is too short.
    expect: { poll: { timeout: 20_000, interval: 50 } },
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
  },
});
