import { describe, expect, it } from 'vitest';
import { LocalExecutions } from '#cli/local/executions.ts';
import type { LocalRun } from '#cli/local/interpreter.ts';
import { UnknownStrategy } from '#core/errors.ts';

/** StartExecution in local mode, over an interpreter that records what it was asked to run. */
function interpreter(machines: readonly string[]) {
  const runs: { machine: string; input: unknown; executionName: string | undefined }[] = [];
  return {
    runs,
    fake: {
      runs: (machine: string) => machines.includes(machine),
      execute: async (machine: string, input: unknown, options: { executionName?: string } = {}): Promise<LocalRun> => {
        runs.push({ machine, input, executionName: options.executionName });
        return { executionName: options.executionName ?? 'unnamed', status: 'SUCCEEDED', events: [] };
      },
    },
  };
}

describe('LocalExecutions', () => {
  it('runs a start on the interpreter under the execution name and answers its local ARN', async () => {
    const { runs, fake } = interpreter(['rolling']);
    const executions = new LocalExecutions(fake);

    const started = await executions.start('rolling', 'd-1', { app: 'web' });

    expect(started).toEqual({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:deployctl-rolling:d-1' });
    expect(runs).toEqual([{ machine: 'rolling', input: { app: 'web' }, executionName: 'd-1' }]);
    await expect(executions.run('d-1')).resolves.toMatchObject({ executionName: 'd-1', status: 'SUCCEEDED' });
  });

  it('answers a repeated start with the same input with the same execution and runs it once, and refuses another input', async () => {
    const { runs, fake } = interpreter(['rolling']);
    const executions = new LocalExecutions(fake);
    await executions.start('rolling', 'd-2', { app: 'web' });

    const repeated = await executions.start('rolling', 'd-2', { app: 'web' });

    expect(repeated.executionArn).toContain(':d-2');
    expect(runs).toHaveLength(1);
    await expect(executions.start('rolling', 'd-2', { app: 'other' })).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('refuses a machine the interpreter does not have with UnknownStrategy, starting nothing', async () => {
    const { runs, fake } = interpreter(['rolling']);
    const executions = new LocalExecutions(fake);

    await expect(executions.start('fanOut', 'd-3', {})).rejects.toBeInstanceOf(UnknownStrategy);
    expect(runs).toEqual([]);
    expect(executions.run('d-3')).toBeUndefined();
  });

  it('tells a start listener before the start answers', async () => {
    const { fake } = interpreter(['canary']);
    const executions = new LocalExecutions(fake);
    const told: string[] = [];
    executions.onStarted(async (name) => {
      await Promise.resolve();
      told.push(name);
    });

    await executions.start('canary', 'd-4', {});

    expect(told).toEqual(['d-4']);
  });
});
