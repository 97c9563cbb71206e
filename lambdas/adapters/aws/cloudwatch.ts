import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmState, Alarms } from '#ports';

/** CloudWatch alarms, by names (100 per call) or by prefix. */
export class CloudWatchAlarms implements Alarms {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async describe(selector: { names?: string[]; prefix?: string }): Promise<AlarmState[]> {
    const out: AlarmState[] = [];
    const requests = selector.names?.length
      ? [{ AlarmNames: selector.names }]
      : selector.prefix
        ? [{ AlarmNamePrefix: selector.prefix }]
        : [];
    for (const request of requests) {
      let NextToken: string | undefined;
      do {
        const page = await this.cloudwatch.send(
          new DescribeAlarmsCommand({ ...request, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken }),
        );
        for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
          out.push({
            name: a.AlarmName ?? '',
            state: a.StateValue ?? 'INSUFFICIENT_DATA',
            ...(a.StateReason ? { reason: a.StateReason } : {}),
          });
        }
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }
}
