import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '#core/events.ts';
import type { Events, RegionalEvent, StatusEvent } from '#ports';

export class EventBridgeEvents implements Events {
  constructor(
    private readonly eventbridge: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async put(event: StatusEvent | RegionalEvent): Promise<void> {
    const { FailedEntryCount, Entries } = await this.eventbridge.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: event.detailType, Detail: JSON.stringify(event.detail) }],
      }),
    );
    if (FailedEntryCount) throw new Error(`PutEvents failed: ${Entries?.[0]?.ErrorCode} ${Entries?.[0]?.ErrorMessage}`);
  }
}
