import type { CommandRequest, FleetCommands } from '#ports';

/** Faults of AWS services, as the local mode plays them. */
export interface ServiceFaults {
  /** The first n SSM calls (SendCommand, ListCommandInvocations, ListCommands, DescribeInstanceInformation) are throttled. */
  readonly ssmThrottles?: number;
  /** The first n CloudWatch DescribeAlarms calls are throttled. */
  readonly cloudWatchThrottles?: number;
  /** The first n DynamoDB requests are throttled (the SDK's retries absorb them). */
  readonly dynamoThrottles?: number;
  /**
   * The function that sends wave n (1-based) dies right after its first
   * SendCommand succeeded, before it could record it; Step Functions sees
   * Lambda.Unknown and retries the task.
   */
  readonly crashAfterSendInWave?: number;
}

/** What a throttled AWS call throws (the SDK's error name, which the state machines retry). */
function throttling(service: string): Error {
  return Object.assign(new Error(`local fault: ${service} rate exceeded`), { name: 'ThrottlingException' });
}

/** `target` whose first `count` calls of any of `methods` throw a ThrottlingException. */
export function throttled<T extends object>(target: T, methods: readonly string[], count: number, service: string): T {
  let left = count;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (!methods.includes(String(property))) return value.bind(object);
      return async (...args: unknown[]) => {
        if (left > 0) {
          left--;
          throw throttling(service);
        }
        return value.apply(object, args);
      };
    },
  });
}

/** `fleet` whose send of wave `wave`'s first batch is followed, once, by the death of the calling function. */
export function crashingAfterSend<T extends FleetCommands>(fleet: T, wave: number): T {
  let crashed = false;
  return new Proxy(fleet, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== 'send') return value.bind(object);
      return async (request: CommandRequest) => {
        const commandId = await object.send(request);
        if (!crashed && request.comment.startsWith(`deployctl wave ${wave} batch 1/`)) {
          crashed = true;
          throw Object.assign(new Error('local fault: the function died after SendCommand'), { name: 'Lambda.Unknown' });
        }
        return commandId;
      };
    },
  });
}
