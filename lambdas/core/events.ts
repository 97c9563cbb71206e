import * as z from 'zod';

/**
 * The "Deployment Status Change" event every deployment puts on EventBridge
 * (source `deployctl`) at each change: started, each wave started and
 * completed, waiting for approval or paused, traffic shifted, rolling back,
 * and its end. The JSON schema in docs/events is generated from this one.
 */
export const DEPLOYMENT_STATUSES = [
  'STARTED',
  'WAITING_FOR_WINDOW',
  'WAVE_STARTED',
  'WAVE_COMPLETED',
  'VALIDATING',
  'AWAITING_APPROVAL',
  'PAUSED',
  'TRAFFIC_SHIFTED',
  'ROLLING_BACK',
  'SUCCEEDED',
  'FAILED',
  'ROLLED_BACK',
  'ABORTED',
] as const;

/** The `source` of every event deployctl puts on EventBridge (status changes and the regional requests and completions). */
export const EVENT_SOURCE = 'deployctl';

export const StatusChangeDetail = z
  .object({
    deploymentId: z.string().min(1).describe('the deployment id (also the execution name)'),
    app: z.string().min(1),
    environment: z.string().min(1),
    version: z.string().min(1).optional().describe('the version being deployed (on STARTED and the end)'),
    status: z.enum(DEPLOYMENT_STATUSES),
    wave: z.number().int().min(0).optional().describe('0-based wave number (wave events, approvals, pauses)'),
    hosts: z.number().int().min(0).optional().describe('hosts of the wave, or of the deployment at its end'),
    failed: z.number().int().min(0).optional().describe('hosts that failed (in the wave, or in all at the end)'),
    green: z.number().int().min(0).max(100).optional().describe("blue-green: green's share of traffic after a shift, in %"),
    opensAt: z.string().optional().describe('WAITING_FOR_WINDOW: when the window opens (ISO 8601)'),
    reason: z.string().nullable().optional().describe('why it ended (at the end)'),
  })
  .strict();
export type StatusChangeDetail = z.infer<typeof StatusChangeDetail>;

/** The JSON schema published for subscribers (docs/events/deployment-status-change.schema.json). */
export function statusChangeJsonSchema(): Record<string, unknown> {
  return {
    title: 'Deployment Status Change (detail)',
    description: 'The detail of the "Deployment Status Change" event deployctl puts on EventBridge with source "deployctl".',
    ...z.toJSONSchema(StatusChangeDetail, { target: 'draft-2020-12' }),
  };
}
