import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openBackend } from '#cli/backend.ts';
import { createLocalFleet } from '#cli/local/session.ts';
import { parseSpec } from '#core/spec.ts';
import { rollingSpec } from '#test/flows/harness.ts';

/** The local backend's StartExecution: a start through its service runs the deployment in this process. */
describe('the local backend', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'deployctl-backend-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('runs a deployment started through its service on the local interpreter, and close waits for its end', async () => {
    const target = {
      local: true,
      stateDir,
      dynamodbEndpoint: inject('dynamoEndpoint'),
      table: `backend-${randomUUID()}`,
      stack: 'Deployctl',
    };
    const spec = rollingSpec('backend-start', { deploymentId: 'backend-start-1', gates: { alarms: {} } });
    const backend = await openBackend(target);
    const hosts = await createLocalFleet(path.join(stateDir, 'fleet'), parseSpec(spec), 2);

    const started = await backend.service.start(spec);
    await backend.close();

    expect(started).toMatchObject({ deploymentId: 'backend-start-1', strategy: 'rolling', started: true });
    const reopened = await openBackend(target);
    try {
      expect(await reopened.records.deployments.getDeployment('backend-start-1')).toMatchObject({ status: 'SUCCEEDED', hostCount: 2 });
      const current = await readFile(
        path.join(stateDir, 'fleet', hosts[0] as string, 'opt', 'deployctl', 'backend-start', 'current'),
        'utf8',
      );
      expect(current.trim()).toBe('2.0.0');
    } finally {
      await reopened.close();
    }
  });
});
