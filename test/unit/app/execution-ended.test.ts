import { describe, expect, it } from 'vitest';
import { executionEnded } from '#app/execution-ended.ts';
import { DEPLOYMENT_ID, specOf } from '#test/support/fixtures.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

const ended = (status: string, extra: Record<string, string | null> = {}) => ({
  executionArn: `arn:aws:states:us-east-1:123456789012:execution:deployctl-rolling:${DEPLOYMENT_ID}`,
  name: DEPLOYMENT_ID,
  status,
  ...extra,
});

describe('executionEnded', () => {
  it('finalizes a deployment whose execution was stopped, naming the stop as the reason', async () => {
    const { ports } = await runningDeployment();

    const result = await executionEnded(ports, ended('ABORTED', { cause: 'operator' }));

    expect(result).toEqual({ finalized: true, status: 'ABORTED' });
    expect(await ports.deployments.getDeployment(DEPLOYMENT_ID)).toMatchObject({
      status: 'ABORTED',
      reason: 'execution stopped (StopExecution): operator',
    });
    expect(ports.audit.events.get(DEPLOYMENT_ID)?.at(-1)).toMatchObject({
      type: 'ExecutionEnded',
      actor: 'stepfunctions',
      cause: 'operator',
    });
    expect(ports.events.statuses()).toEqual(['ABORTED']);
  });

  it('counts a timed-out execution as FAILED', async () => {
    const { ports } = await runningDeployment();

    await expect(executionEnded(ports, ended('TIMED_OUT'))).resolves.toEqual({ finalized: true, status: 'FAILED' });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).reason).toBe('execution timed out');
  });

  it('ignores executions that are still running or succeeded', async () => {
    const { ports } = await runningDeployment();

    await expect(executionEnded(ports, ended('RUNNING'))).resolves.toEqual({ finalized: false });
    await expect(executionEnded(ports, ended('SUCCEEDED'))).resolves.toEqual({ finalized: false });
    expect(ports.events.log).toEqual([]);
  });

  it('finds the deployment by the id the input names rather than the execution name', async () => {
    const ports = memoryPorts();
    await ports.deployments.createDeployment('dep-named', specOf({ deploymentId: 'dep-named' }), 'exec-7', ports.clock.now());

    const result = await executionEnded(ports, {
      ...ended('FAILED', { input: JSON.stringify({ deploymentId: 'dep-named' }) }),
      name: 'exec-7',
    });

    expect(result).toEqual({ finalized: true, status: 'FAILED' });
    expect((await ports.deployments.getDeployment('dep-named')).status).toBe('FAILED');
  });

  it('leaves a record that belongs to another execution as it is', async () => {
    const { ports } = await runningDeployment();

    const result = await executionEnded(ports, {
      ...ended('FAILED', { input: JSON.stringify({ deploymentId: DEPLOYMENT_ID }) }),
      name: 'exec-x',
    });

    expect(result).toEqual({ finalized: false });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).status).toBe('RUNNING');
  });

  it('answers not finalized when the execution recorded no deployment', async () => {
    const ports = memoryPorts();

    await expect(executionEnded(ports, ended('FAILED', { input: 'not json' }))).resolves.toEqual({ finalized: false });
  });

  it('only releases the lock of a deployment the state machine finalized itself', async () => {
    const { ports } = await runningDeployment();
    await ports.locks.acquireLock('web', 'prod', DEPLOYMENT_ID, ports.clock.now(), 60);
    await ports.deployments.finishDeployment(DEPLOYMENT_ID, 'SUCCEEDED', undefined, ports.clock.now());

    await expect(executionEnded(ports, ended('FAILED'))).resolves.toEqual({ finalized: false, lockReleased: true });
    expect((await ports.deployments.getDeployment(DEPLOYMENT_ID)).status).toBe('SUCCEEDED');
    expect(ports.events.log).toEqual([]);
  });
});
