import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  CloudWatchClient,
  type ServiceInputTypes as CloudWatchInput,
  type ServiceOutputTypes as CloudWatchOutput,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
} from '@aws-sdk/client-cloudwatch';
import {
  type CommandInvocation,
  type DescribeInstanceInformationCommandInput,
  type DescribeInstanceInformationCommandOutput,
  type ListCommandInvocationsCommandInput,
  type ListCommandInvocationsCommandOutput,
  type ListCommandsCommandInput,
  type ListCommandsCommandOutput,
  type SendCommandCommandInput,
  type SendCommandCommandOutput,
  SSMClient,
  type ServiceInputTypes as SsmInput,
  type ServiceOutputTypes as SsmOutput,
} from '@aws-sdk/client-ssm';
import { CloudWatchAlarms } from '#adapters/aws/cloudwatch.ts';
import { SsmFleet, SsmInventory } from '#adapters/aws/ssm.ts';
import type { CommandStatusEvent } from '#adapters/local/fleet.ts';
import type { Alarms, CommandRequest, FleetCommands, HostInfo, Inventory, Invocation } from '#ports';

/** A host of the simulated fleet: an SSM managed instance, always online. */
export interface SimulatedHost {
  readonly instanceId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface SimulatedFleetOptions {
  readonly hosts: readonly SimulatedHost[];
  /** How long every command runs on every host before SSM reports it finished. */
  readonly commandMs: number;
}

/** One SendCommand the fleet received. */
export interface SentCommand {
  readonly commandId: string;
  readonly instanceIds: readonly string[];
  /** When it was sent (performance.now()). */
  readonly at: number;
}

/** The SDK calls the AWS adapters made, by operation (SendCommand, ListCommandInvocations, DescribeInstanceInformation, DescribeAlarms). */
export type ApiCalls = Record<string, number>;

const REGION = 'us-east-1';
/** Never sent anywhere: the simulated services answer in process, before signing. */
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

class InvalidCommandId extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCommandId';
  }
}

/** A page of `items` from the offset in `token`, and the token of the next page if any. */
function page<T>(items: readonly T[], token: string | undefined, size: number): { items: T[]; next?: string } {
  const start = token ? Number(token) : 0;
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length ? { next: String(end) } : {}) };
}

/**
 * A middleware that answers a client's commands in process: put at the top
 * of the client's stack, it counts each call and returns the simulated
 * service's output, so nothing is serialized, signed or sent. The AWS
 * adapter above it runs as in Lambda, paging included; the count is what it
 * would send to the service.
 */
function inProcess<I, O>(calls: ApiCalls, answer: (operation: string, input: I) => O) {
  return (_next: unknown, context: { commandName?: string }) =>
    async (args: { input: I }): Promise<{ output: O; response: unknown }> => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      calls[operation] = (calls[operation] ?? 0) + 1;
      return { output: answer(operation, args.input), response: {} };
    };
}

const IN_PROCESS = { step: 'initialize', name: 'benchSimulatedService', priority: 'high' } as const;

interface RunningCommand {
  readonly instanceIds: readonly string[];
  readonly document: string;
  readonly comment: string;
  readonly requestedAt: Date;
  status: 'InProgress' | 'Success';
}

/**
 * A fleet for the benchmark, as big as asked, at no cost per host: each
 * command "runs" for a fixed time on every host, then succeeds, and SSM's
 * status event goes to the listener (the EventBridge rule's target). It
 * implements the same ports as the local fleet, through the real AWS
 * adapters (SsmFleet, SsmInventory, CloudWatchAlarms) over in-process SSM
 * and CloudWatch services, so that the API calls counted are those the
 * Lambda functions would make.
 */
export class SimulatedFleet implements FleetCommands, Inventory {
  /** CloudWatch alarms: every alarm asked for is OK. */
  readonly alarms: Alarms;
  /** SDK calls made, by operation. */
  readonly calls: ApiCalls = {};
  /** Every SendCommand, in order. */
  readonly sent: SentCommand[] = [];
  private readonly hosts: readonly SimulatedHost[];
  private readonly commands = new Map<string, RunningCommand>();
  private readonly ssmFleet: SsmFleet;
  private readonly inventory: SsmInventory;
  private listener: ((event: CommandStatusEvent) => void) | undefined;
  private running = 0;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly options: SimulatedFleetOptions) {
    this.hosts = [...options.hosts].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    const ssm = new SSMClient({ region: REGION, credentials: CREDENTIALS });
    ssm.middlewareStack.add(
      inProcess<SsmInput, SsmOutput>(this.calls, (operation, input) => this.ssm(operation, input)),
      IN_PROCESS,
    );
    const cloudwatch = new CloudWatchClient({ region: REGION, credentials: CREDENTIALS });
    cloudwatch.middlewareStack.add(
      inProcess<CloudWatchInput, CloudWatchOutput>(this.calls, (operation, input) => this.cloudwatch(operation, input)),
      IN_PROCESS,
    );
    this.ssmFleet = new SsmFleet(ssm);
    this.inventory = new SsmInventory(ssm);
    this.alarms = new CloudWatchAlarms(cloudwatch);
  }

  /** Sends SSM's status events to `listener` from now on (the runner's wiring); returns the fleet. */
  reportingTo(listener: (event: CommandStatusEvent) => void): this {
    this.listener = listener;
    return this;
  }

  send(request: CommandRequest): Promise<string> {
    return this.ssmFleet.send(request);
  }

  invocations(commandId: string): Promise<Invocation[]> {
    return this.ssmFleet.invocations(commandId);
  }

  findCommand(query: { instanceId: string; document: string; comment: string; after: Date }): Promise<string | undefined> {
    return this.ssmFleet.findCommand(query);
  }

  resolve(targets: { tags?: Record<string, string>; instanceIds?: string[]; resourceGroup?: string }): Promise<string[]> {
    return this.inventory.resolve(targets);
  }

  pingStatus(instanceIds: readonly string[]): Promise<HostInfo[]> {
    return this.inventory.pingStatus(instanceIds);
  }

  /** Resolves once no command is running. */
  whenIdle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  private ssm(operation: string, input: SsmInput): SsmOutput {
    switch (operation) {
      case 'SendCommand':
        return this.sendCommand(input as SendCommandCommandInput);
      case 'ListCommandInvocations':
        return this.listInvocations(input as ListCommandInvocationsCommandInput);
      case 'DescribeInstanceInformation':
        return this.describeInstances(input as DescribeInstanceInformationCommandInput);
      case 'ListCommands':
        return this.listCommands(input as ListCommandsCommandInput);
      default:
        throw new Error(`the simulated SSM does not answer ${operation}`);
    }
  }

  private cloudwatch(operation: string, input: CloudWatchInput): CloudWatchOutput {
    if (operation !== 'DescribeAlarms') throw new Error(`the simulated CloudWatch does not answer ${operation}`);
    const { AlarmNames, AlarmNamePrefix } = input as DescribeAlarmsCommandInput;
    const names = AlarmNames ?? (AlarmNamePrefix ? [`${AlarmNamePrefix}health`] : []);
    const output: DescribeAlarmsCommandOutput = {
      $metadata: {},
      MetricAlarms: names.map((AlarmName) => ({ AlarmName, StateValue: 'OK' })),
      CompositeAlarms: [],
    };
    return output;
  }

  private sendCommand(input: SendCommandCommandInput): SendCommandCommandOutput {
    const instanceIds = input.InstanceIds ?? [];
    if (instanceIds.length === 0 || instanceIds.length > 50)
      throw new RangeError(`SendCommand takes 1 to 50 instance ids, got ${instanceIds.length}`);
    const commandId = randomUUID();
    const command: RunningCommand = {
      instanceIds,
      document: input.DocumentName ?? '',
      comment: input.Comment ?? '',
      requestedAt: new Date(),
      status: 'InProgress',
    };
    this.commands.set(commandId, command);
    this.sent.push({ commandId, instanceIds, at: performance.now() });
    this.running++;
    // Like SSM, SendCommand returns at once; every host finishes the command commandMs later.
    setTimeout(() => {
      command.status = 'Success';
      this.running--;
      this.listener?.({
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Status-change Notification',
        detail: { 'command-id': commandId, status: 'Success', 'document-name': input.DocumentName ?? '' },
      });
      if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
    }, this.options.commandMs);
    return { $metadata: {}, Command: { CommandId: commandId, InstanceIds: [...instanceIds], DocumentName: input.DocumentName } };
  }

  private listInvocations(input: ListCommandInvocationsCommandInput): ListCommandInvocationsCommandOutput {
    const command = input.CommandId ? this.commands.get(input.CommandId) : undefined;
    if (!command) throw new InvalidCommandId(`InvalidCommandId: ${input.CommandId}`);
    const all: CommandInvocation[] = command.instanceIds.map((InstanceId) => ({
      InstanceId,
      CommandId: input.CommandId,
      Status: command.status,
      StatusDetails: command.status,
      ...(input.Details ? { CommandPlugins: [{ Name: 'deploy', Output: command.status === 'Success' ? 'deployed\n' : '' }] } : {}),
    }));
    const { items, next } = page(all, input.NextToken, input.MaxResults ?? 50);
    return { $metadata: {}, CommandInvocations: items, ...(next ? { NextToken: next } : {}) };
  }

  private listCommands(input: ListCommandsCommandInput): ListCommandsCommandOutput {
    const filter = (key: string) => input.Filters?.find((f) => f.key === key)?.value;
    const after = filter('InvokedAfter');
    const document = filter('DocumentName');
    const all = [...this.commands]
      .filter(([, c]) => !input.InstanceId || c.instanceIds.includes(input.InstanceId))
      .filter(([, c]) => (!after || c.requestedAt >= new Date(after)) && (!document || c.document === document))
      .map(([CommandId, c]) => ({ CommandId, Comment: c.comment, DocumentName: c.document, RequestedDateTime: c.requestedAt }));
    const { items, next } = page(all, input.NextToken, input.MaxResults ?? 50);
    return { $metadata: {}, Commands: items, ...(next ? { NextToken: next } : {}) };
  }

  private describeInstances(input: DescribeInstanceInformationCommandInput): DescribeInstanceInformationCommandOutput {
    const filters = (input.Filters ?? []).map(({ Key = '', Values = [] }) => {
      const values = new Set(Values);
      if (Key === 'InstanceIds') return (host: SimulatedHost) => values.has(host.instanceId);
      if (Key.startsWith('tag:')) return (host: SimulatedHost) => values.has(host.tags[Key.slice(4)] ?? '');
      throw new Error(`the simulated SSM does not filter instances by ${Key}`);
    });
    const matching = this.hosts.filter((host) => filters.every((matches) => matches(host)));
    const { items, next } = page(matching, input.NextToken, input.MaxResults ?? 50);
    return {
      $metadata: {},
      InstanceInformationList: items.map((host) => ({ InstanceId: host.instanceId, PingStatus: 'Online' })),
      ...(next ? { NextToken: next } : {}),
    };
  }
}
