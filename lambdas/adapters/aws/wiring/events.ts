import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import { EventBridgeEvents } from '#adapters/aws/eventbridge.ts';
import type { Events } from '#ports';
import { CLIENT_CONFIG, traced } from './client.ts';
import { readEnv } from './config.ts';

const { EVENT_BUS_NAME } = readEnv(z.object({ EVENT_BUS_NAME: z.string().min(1).default('default') }));

/** The `events` port: deployctl's events on the bus `EVENT_BUS_NAME` names. */
export const events: Events = new EventBridgeEvents(traced(new EventBridgeClient(CLIENT_CONFIG)), EVENT_BUS_NAME);
