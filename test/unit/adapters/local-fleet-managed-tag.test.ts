import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CommandStatusEvent, LocalFleet, type LocalHost } from '#adapters/local/fleet.ts';
import { createLocalFleet, readHosts } from '#cli/local/fleet-setup.ts';
import { DEFAULT_MANAGED_TAG } from '#core/managed-tag.ts';
import { parseSpec } from '#core/spec.ts';

const DOCUMENT = 'Test-Touch';
const spec = parseSpec({ app: 'web', environment: 'qa', version: '1.0.0', targets: { tags: { app: 'web', environment: 'qa' } } });

let dir: string;
let finished: CommandStatusEvent[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'deployctl-fleet-'));
  finished = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fleet = (options: Partial<ConstructorParameters<typeof LocalFleet>[0]> = {}) =>
  new LocalFleet({ dir, documents: { [DOCUMENT]: 'echo ran > ran' }, onCommandFinished: (e) => finished.push(e), ...options });

const request = (instanceIds: string[]) => ({ instanceIds, document: DOCUMENT, parameters: {}, timeoutSeconds: 30, comment: 'test' });

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe('the local fleet and the managed tag', () => {
  it('tags every host it creates with the managed tag that SendCommand requires', async () => {
    await createLocalFleet(dir, spec, 4);
    const hosts = await readHosts(dir);
    expect(hosts).toHaveLength(4);
    for (const host of hosts) expect(host.tags[DEFAULT_MANAGED_TAG.key], host.instanceId).toBe(DEFAULT_MANAGED_TAG.value);
  });

  it('runs a command on hosts that all carry the tag', async () => {
    const ids = await createLocalFleet(dir, spec, 2);
    await fleet().send(request(ids));
    await vi.waitFor(() => expect(finished).toHaveLength(1));
    expect(finished[0]?.detail.status).toBe('Success');
    for (const id of ids) expect(await readFile(path.join(dir, id, 'ran'), 'utf8')).toBe('ran\n');
  });

  it('refuses the whole SendCommand with AccessDeniedException, as SSM does, when one host lacks the tag, and runs it on no host', async () => {
    const [tagged, untagged] = await createLocalFleet(dir, spec, 2);
    if (!tagged || !untagged) throw new Error('the fleet has two hosts');
    const host: LocalHost = { instanceId: untagged, tags: { app: 'web', environment: 'qa' }, online: true };
    await LocalFleet.create(dir, [host]);

    const sent = fleet().send(request([tagged, untagged]));
    await expect(sent).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        new RegExp(`not authorized to perform: ssm:SendCommand on resource: arn:aws:ec2:.*:instance/${untagged} .*deployctl:managed=true`),
      ),
    });
    for (const id of [tagged, untagged]) expect(await exists(path.join(dir, id, 'commands.log')), id).toBe(false);
    expect(finished).toEqual([]);
  });

  it('checks the tag it is given instead of the default one', async () => {
    const ids = await createLocalFleet(dir, spec, 1);
    await expect(fleet({ managedTag: { key: 'team', value: 'web' } }).send(request(ids))).rejects.toThrow(/tag team=web/);
  });
});
