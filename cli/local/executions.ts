import { UnknownStrategy } from '#core/errors.ts';
import type { Executions } from '../../lambdas/ports.ts';
import type { StrategyName } from '../../lib/regional-stack.ts';
import { STRATEGIES } from '../../lib/regional-stack.ts';
import type { LocalEventListener, LocalOrchestrator, LocalRun } from './runner.ts';

/**
 * StartExecution for local mode: runs the strategy's machine in this process,
 * in the background. As in Step Functions, a second start with the same name
 * and input answers the running (or finished) execution; the same name with
 * another input is refused.
 */
export class LocalExecutions implements Executions {
  private readonly started = new Map<string, { input: string; run: Promise<LocalRun> }>();

  constructor(
    private readonly orchestrator: LocalOrchestrator,
    private readonly options: { onEvent?: (executionName: string) => LocalEventListener | undefined } = {},
  ) {}

  async start(strategy: string, name: string, input: unknown): Promise<{ executionArn: string }> {
    if (!(STRATEGIES as readonly string[]).includes(strategy)) throw new UnknownStrategy(`no state machine for strategy ${strategy} here`);
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:deployctl-${strategy}:${name}`;
    const json = JSON.stringify(input);
    const previous = this.started.get(name);
    if (previous) {
      if (previous.input !== json) {
        throw Object.assign(new Error(`Execution Already Exists: '${executionArn}'`), { name: 'ExecutionAlreadyExists' });
      }
      return { executionArn };
    }
    const onEvent = this.options.onEvent?.(name);
    const run = this.orchestrator.execute(strategy as StrategyName, input, { executionName: name, ...(onEvent ? { onEvent } : {}) });
    run.catch((error: unknown) => process.emitWarning(`local execution ${name} crashed: ${String(error)}`));
    this.started.set(name, { input: json, run });
    return { executionArn };
  }

  /** The run of an execution this process started. */
  run(name: string): Promise<LocalRun> | undefined {
    return this.started.get(name)?.run;
  }

  /** Waits for every execution started here to end. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.started.values()].map((s) => s.run));
  }
}
