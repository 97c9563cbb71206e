import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, EventBridgeEvents } from '../../lambdas/adapters/aws/eventbridge.ts';

describe('EventBridgeEvents', () => {
  const eventbridge = mockClient(EventBridgeClient);
  const events = new EventBridgeEvents(new EventBridgeClient({}), 'deployctl-bus');

  beforeEach(() => {
    eventbridge.reset();
  });

  it('puts one event from source deployctl on the configured bus with the detail as JSON', async () => {
    eventbridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await events.put({ detailType: 'Deployment Status Change', detail: { deploymentId: 'dep-1', status: 'SUCCEEDED' } });

    expect(EVENT_SOURCE).toBe('deployctl');
    expect(eventbridge).toReceiveCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'deployctl-bus',
          Source: 'deployctl',
          DetailType: 'Deployment Status Change',
          Detail: '{"deploymentId":"dep-1","status":"SUCCEEDED"}',
        },
      ],
    });
  });

  it('fails with the error code when EventBridge rejects the entry', async () => {
    eventbridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });

    await expect(events.put({ detailType: 'Deployment Status Change', detail: {} })).rejects.toThrow(
      'PutEvents failed: InternalFailure try again',
    );
  });
});
