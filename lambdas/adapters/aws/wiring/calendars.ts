import { SsmChangeCalendars } from '#adapters/aws/ssm.ts';
import type { ChangeCalendars } from '#ports';
import { ssm } from './ssm.ts';

/** The `calendars` port: SSM Change Calendar states. */
export const calendars: ChangeCalendars = new SsmChangeCalendars(ssm);
