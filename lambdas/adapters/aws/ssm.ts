import {
  DescribeInstanceInformationCommand,
  GetCalendarStateCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { CalendarUnavailable } from '#core/errors.ts';
import type { CalendarState } from '#core/window.ts';
import type { ChangeCalendars, CommandRequest, FleetCommands, HostInfo, Inventory, Invocation } from '#ports';

/** SSM Run Command. */
export class SsmFleet implements FleetCommands {
  constructor(private readonly ssm: SSMClient) {}

  async send(request: CommandRequest): Promise<string> {
    if (request.instanceIds.length === 0 || request.instanceIds.length > 50) {
      throw new RangeError(`SendCommand takes 1 to 50 instance ids, got ${request.instanceIds.length}`);
    }
    const { Command } = await this.ssm.send(
      new SendCommandCommand({
        InstanceIds: [...request.instanceIds],
        DocumentName: request.document,
        Parameters: Object.fromEntries(Object.entries(request.parameters).map(([k, v]) => [k, [...v]])),
        TimeoutSeconds: request.timeoutSeconds,
        Comment: request.comment,
        // Every host of the batch gets the command, whatever fails: the deployment's own error budget
        // (which also counts undeliverable hosts and delivery timeouts, as SSM's MaxErrors does not) decides.
        MaxConcurrency: '100%',
        MaxErrors: '100%',
      }),
    );
    if (!Command?.CommandId) throw new Error('SendCommand returned no command id');
    return Command.CommandId;
  }

  async findCommand(query: { instanceId: string; document: string; comment: string; after: Date }): Promise<string | undefined> {
    let NextToken: string | undefined;
    do {
      const page = await this.ssm.send(
        new ListCommandsCommand({
          InstanceId: query.instanceId,
          Filters: [
            { key: 'InvokedAfter', value: query.after.toISOString() },
            { key: 'DocumentName', value: query.document },
          ],
          MaxResults: 50,
          NextToken,
        }),
      );
      const found = (page.Commands ?? []).find((c) => c.Comment === query.comment && c.CommandId);
      if (found?.CommandId) return found.CommandId;
      NextToken = page.NextToken;
    } while (NextToken);
    return undefined;
  }

  async invocations(commandId: string): Promise<Invocation[]> {
    const out: Invocation[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ssm.send(
        new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, NextToken, MaxResults: 50 }),
      );
      for (const inv of page.CommandInvocations ?? []) {
        if (!inv.InstanceId) continue;
        // With Details, each plugin (step) brings the end of its output: at most 2,500 characters.
        const output = (inv.CommandPlugins ?? []).map((plugin) => plugin.Output ?? '').join('');
        out.push({
          instanceId: inv.InstanceId,
          status: inv.Status ?? 'Unknown',
          statusDetails: inv.StatusDetails ?? '',
          ...(output ? { output } : {}),
        });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }
}

/**
 * Targets resolved through SSM's own inventory (DescribeInstanceInformation
 * with tag filters), which covers EC2 and on-premises (mi-) hosts alike, and
 * SSM's view of which hosts are online.
 */
export class SsmInventory implements Inventory {
  constructor(private readonly ssm: SSMClient) {}

  async resolve(targets: { tags?: Record<string, string>; instanceIds?: string[]; resourceGroup?: string }): Promise<string[]> {
    if (targets.instanceIds) return [...new Set(targets.instanceIds)];
    if (targets.tags) {
      const filters = Object.entries(targets.tags).map(([key, value]) => ({ Key: `tag:${key}`, Values: [value] }));
      return [...(await this.describe(filters)).keys()];
    }
    throw new Error('resource group targets are not supported yet; use tags or instanceIds');
  }

  async pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]> {
    const found = new Map<string, string>();
    // The InstanceIds filter takes at most 50 values.
    for (let i = 0; i < instanceIds.length; i += 50) {
      for (const [id, ping] of await this.describe([{ Key: 'InstanceIds', Values: instanceIds.slice(i, i + 50) }])) found.set(id, ping);
    }
    return instanceIds.map((instanceId) => ({ instanceId, pingStatus: found.get(instanceId) ?? 'Unknown' }));
  }

  /** Every page of DescribeInstanceInformation: instance id to PingStatus. */
  private async describe(Filters: { Key: string; Values: string[] }[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    let NextToken: string | undefined;
    do {
      const page = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters, MaxResults: 50, NextToken }));
      for (const info of page.InstanceInformationList ?? []) {
        if (info.InstanceId) found.set(info.InstanceId, info.PingStatus ?? 'Unknown');
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  }
}

/** GetCalendarState's errors that say the calendar cannot be read at all (not a passing fault). */
const CALENDAR_UNAVAILABLE = new Set(['InvalidDocument', 'InvalidDocumentType', 'UnsupportedCalendarException']);

/** SSM Change Calendar: GetCalendarState for one calendar at a given time. */
export class SsmChangeCalendars implements ChangeCalendars {
  constructor(private readonly ssm: SSMClient) {}

  async state(calendarName: string, at: Date): Promise<CalendarState> {
    let answer: { State?: string; NextTransitionTime?: string };
    try {
      // AtTime in ISO 8601, to the second.
      answer = await this.ssm.send(
        new GetCalendarStateCommand({ CalendarNames: [calendarName], AtTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z') }),
      );
    } catch (error) {
      if (error instanceof Error && CALENDAR_UNAVAILABLE.has(error.name)) {
        throw new CalendarUnavailable(`change calendar ${calendarName} cannot be read: ${error.name}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    if (answer.State !== 'OPEN' && answer.State !== 'CLOSED') {
      throw new Error(`GetCalendarState answered no OPEN or CLOSED state for ${calendarName}: ${String(answer.State)}`);
    }
    return {
      state: answer.State,
      ...(answer.NextTransitionTime ? { nextTransitionTime: new Date(answer.NextTransitionTime) } : {}),
    };
  }
}
