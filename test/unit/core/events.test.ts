import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StatusChangeDetail, statusChangeJsonSchema } from '#core/events.ts';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../../docs/events/deployment-status-change.schema.json');

describe('the Deployment Status Change event schema', () => {
  it('is published as the JSON schema generated from the zod schema the handlers are typed with', () => {
    const published = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));

    expect(published).toEqual(JSON.parse(JSON.stringify(statusChangeJsonSchema())));
    expect(published.required).toEqual(['deploymentId', 'app', 'environment', 'status']);
    expect(published.additionalProperties).toBe(false);
  });

  it('accepts the README example and refuses an unknown status or field', () => {
    const example = {
      deploymentId: '3f0c9f5e-2b1a-4c3e-9d7a-1e2f3a4b5c6d',
      app: 'web',
      environment: 'prod',
      status: 'WAVE_COMPLETED',
      wave: 1,
      hosts: 25,
      failed: 0,
    };

    expect(StatusChangeDetail.parse(example)).toEqual(example);
    expect(StatusChangeDetail.safeParse({ ...example, status: 'DONE' }).success).toBe(false);
    expect(StatusChangeDetail.safeParse({ ...example, token: 'secret' }).success).toBe(false);
  });
});
