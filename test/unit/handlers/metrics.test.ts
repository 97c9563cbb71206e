import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger, task } from '#commons/powertools.ts';
import { keys } from '#core/records.ts';
import { createFinalize } from '#handlers/finalize.ts';
import { acceptWrites, awsTestDeps } from '#test/support/aws-mocks.ts';
import { DEPLOYMENT_ID, lambdaContext, metaItem, specOf, stateOf } from '#test/support/fixtures.ts';

// The metrics are on for this file (the suite turns them off elsewhere): set before Powertools is loaded.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

/** The EMF documents a handler printed: each line Powertools writes with an `_aws` block. */
function emf(lines: readonly string[]): Record<string, unknown>[] {
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the log lines of a task', () => {
  it('carry the deployment, app, environment and wave of the state it works on, and the deployment as correlation id', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const handler = task(async () => {
      logger.info('working');
    });

    await handler({ state: { deploymentId: 'dep-7', app: 'web', environment: 'prod', wave: 2 }, phase: 'deploy' }, lambdaContext);
    vi.restoreAllMocks();

    const line = printed
      .flatMap((chunk) => chunk.split('\n'))
      .filter((l) => l.includes('"working"'))
      .map((l) => JSON.parse(l))[0];
    expect(line).toMatchObject({
      message: 'working',
      level: 'INFO',
      deploymentId: 'dep-7',
      correlation_id: 'dep-7',
      app: 'web',
      environment: 'prod',
      wave: 2,
      phase: 'deploy',
    });
  });
});

describe('the EMF metrics a finished deployment emits', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const eventbridge = mockClient(EventBridgeClient);
  const handler = createFinalize(awsTestDeps());
  let printed: string[];

  beforeEach(() => {
    db.reset();
    eventbridge.reset();
    acceptWrites(db);
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    printed = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts a success with its duration, lead time and time to restore, by app and environment', async () => {
    // Committed an hour before the deployment started; the previous release of web/prod had failed.
    const spec = { ...specOf({ previousVersion: '1.2.2' }), commitTime: '2025-12-31T22:00:00.000Z' };
    db.on(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
      Attributes: metaItem(spec, 'SUCCEEDED', { endedAt: '2026-01-01T00:00:00.000Z' }),
    });
    // Two failed changes in a row (and an abort between): service broke at the first, four hours ago.
    db.on(QueryCommand).resolves({
      Items: [
        { status: 'ROLLED_BACK', endedAt: '2025-12-31T22:30:00.000Z', version: '1.2.3' },
        { status: 'ABORTED', endedAt: '2025-12-31T21:00:00.000Z', version: '1.2.3' },
        { status: 'FAILED', endedAt: '2025-12-31T20:00:00.000Z', version: '1.2.3' },
        { status: 'SUCCEEDED', endedAt: '2025-12-30T20:00:00.000Z', version: '1.2.2' },
      ],
    });

    await handler(stateOf({ wave: 2, waveCount: 2, hostCount: 10, succeeded: 10 }), lambdaContext);

    const [document] = emf(printed);
    expect(document).toMatchObject({
      app: 'web',
      environment: 'prod',
      service: 'deployctl',
      DeploymentsSucceeded: 1,
      DeploymentDurationSeconds: 3600,
      LeadTimeSeconds: 7200,
      TimeToRestoreSeconds: 14400,
    });
    const aws = document?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } | undefined;
    const directive = aws?.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Deployctl');
    expect(directive?.Dimensions[0]).toEqual(expect.arrayContaining(['app', 'environment']));
  });

  it('counts a rollback without lead time or time to restore', async () => {
    const spec = { ...specOf({ previousVersion: '1.2.2' }), commitTime: '2025-12-31T22:00:00.000Z' };
    db.on(UpdateCommand, { Key: keys.meta(DEPLOYMENT_ID) }).resolves({
      Attributes: metaItem(spec, 'ROLLED_BACK', { endedAt: '2026-01-01T00:00:00.000Z' }),
    });

    await handler(
      stateOf({ wave: 1, waveCount: 2, hostCount: 10, failed: 3, outcome: 'ROLLED_BACK', reason: 'wave 1 failed' }),
      lambdaContext,
    );

    const [document] = emf(printed);
    expect(document).toMatchObject({ DeploymentsRolledBack: 1, DeploymentDurationSeconds: 3600 });
    expect(document).not.toHaveProperty('LeadTimeSeconds');
    expect(document).not.toHaveProperty('TimeToRestoreSeconds');
    expect(document).not.toHaveProperty('DeploymentsSucceeded');
  });
});
