import { describe, expect, it } from 'vitest';
import { createJournal } from '#app/journal.ts';
import { FakeEvents, MemoryAudit } from '#test/support/memory-ports.ts';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const STATUS = { app: 'web', environment: 'prod', status: 'WAVE_STARTED', wave: 2 } as const;

describe('the journal', () => {
  it('writes a keyed announcement once: a retry writes neither the audit event nor the status event again', async () => {
    const audit = new MemoryAudit();
    const events = new FakeEvents();
    const journal = createJournal({ audit, events });
    const announcement = {
      deploymentId: 'd-1',
      once: 'WaveStarted#2',
      event: { type: 'WaveStarted', actor: 'deployctl', detail: { wave: 2 } },
      status: STATUS,
    };

    expect(await journal.announce(announcement, NOW)).toBe(true);
    expect(await journal.announce(announcement, NOW)).toBe(false);

    expect(await audit.getEvents('d-1')).toEqual([{ type: 'WaveStarted', actor: 'deployctl', at: NOW.toISOString(), wave: 2 }]);
    expect(events.log).toEqual([{ detailType: 'Deployment Status Change', detail: { deploymentId: 'd-1', ...STATUS } }]);
  });

  it('writes an announcement without a key every time, and puts no status event when it has none', async () => {
    const audit = new MemoryAudit();
    const events = new FakeEvents();
    const journal = createJournal({ audit, events });
    const approved = { deploymentId: 'd-2', event: { type: 'Approved', actor: 'alice' } };

    expect(await journal.announce(approved, NOW)).toBe(true);
    expect(await journal.announce(approved, NOW)).toBe(true);

    expect(audit.types('d-2')).toEqual(['Approved', 'Approved']);
    expect(events.log).toEqual([]);
  });

  it('puts the status event only after its audit event is written', async () => {
    const order: string[] = [];
    const journal = createJournal({
      audit: {
        appendEvent: async () => void order.push('audit'),
        appendEventOnce: async () => {
          order.push('audit once');
          return true;
        },
        getEvents: async () => [],
      },
      events: { put: async () => void order.push('status') },
    });

    await journal.announce(
      { deploymentId: 'd-3', once: 'Closed', event: { type: 'DeploymentFinished', actor: 'deployctl' }, status: STATUS },
      NOW,
    );

    expect(order).toEqual(['audit once', 'status']);
  });
});
