import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetCalendarStateCommand, InvalidDocument, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SsmChangeCalendars } from '#adapters/aws/ssm.ts';
import { LocalCalendars, writeLocalCalendar } from '#adapters/local/calendars.ts';
import { CalendarUnavailable } from '#core/errors.ts';

/**
 * The local change calendar against the AWS adapter: the documented
 * GetCalendarState sample (Systems Manager User Guide, change-calendar-getstate)
 * and SSM's InvalidDocument give the same answer from both.
 */

const AT = new Date('2020-07-30T16:18:18Z');
const SAMPLE = { State: 'OPEN', AtTime: '2020-07-30T16:18:18Z', NextTransitionTime: '2020-07-31T00:00:00Z' } as const;

describe('change calendars, local and AWS', () => {
  const ssm = mockClient(SSMClient);
  let dir: string;

  beforeEach(async () => {
    ssm.reset();
    dir = await mkdtemp(path.join(tmpdir(), 'deployctl-calendars-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answer the documented sample alike: OPEN until the next transition', async () => {
    ssm.on(GetCalendarStateCommand).resolves(SAMPLE);
    await writeLocalCalendar(dir, 'MyChangeCalendarDocument', { State: SAMPLE.State, NextTransitionTime: SAMPLE.NextTransitionTime });

    const aws = await new SsmChangeCalendars(new SSMClient({})).state('MyChangeCalendarDocument', AT);
    const local = await new LocalCalendars(dir).state('MyChangeCalendarDocument', AT);

    expect(local).toEqual(aws);
    expect(aws).toEqual({ state: 'OPEN', nextTransitionTime: new Date('2020-07-31T00:00:00Z') });
  });

  it('answer a calendar that does not exist alike: CalendarUnavailable naming InvalidDocument', async () => {
    ssm.on(GetCalendarStateCommand).rejects(new InvalidDocument({ message: "The specified SSM document doesn't exist.", $metadata: {} }));

    const aws = await new SsmChangeCalendars(new SSMClient({})).state('prod-freeze', AT).catch((e: unknown) => e);
    const local = await new LocalCalendars(dir).state('prod-freeze', AT).catch((e: unknown) => e);

    expect(aws).toBeInstanceOf(CalendarUnavailable);
    expect(local).toBeInstanceOf(CalendarUnavailable);
    expect((local as Error).message).toBe((aws as Error).message);
  });

  it('locally, reads the other state from the transition time on, with no further transition known', async () => {
    await writeLocalCalendar(dir, 'prod-freeze', { State: 'CLOSED', NextTransitionTime: '2020-07-31T00:00:00Z' });
    const calendars = new LocalCalendars(dir);

    await expect(calendars.state('prod-freeze', AT)).resolves.toEqual({
      state: 'CLOSED',
      nextTransitionTime: new Date('2020-07-31T00:00:00Z'),
    });
    await expect(calendars.state('prod-freeze', new Date('2020-07-31T00:00:00Z'))).resolves.toEqual({ state: 'OPEN' });
  });
});
