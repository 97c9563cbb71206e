import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { UnknownStrategy } from '#core/errors.ts';
import type { Executions } from '#ports';

/**
 * StartExecution on the strategy's state machine. Step Functions treats a
 * second StartExecution with the same name and input as the same request,
 * which is what makes a retried start idempotent.
 */
export class SfnExecutions implements Executions {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArns: Readonly<Record<string, string>>,
  ) {}

  async start(strategy: string, name: string, input: unknown): Promise<{ executionArn: string }> {
    const stateMachineArn = this.stateMachineArns[strategy];
    if (!stateMachineArn) throw new UnknownStrategy(`no state machine for strategy ${strategy}`);
    const { executionArn } = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    if (!executionArn) throw new Error(`StartExecution of ${name} returned no execution ARN`);
    return { executionArn };
  }
}
