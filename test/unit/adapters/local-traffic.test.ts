import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTraffic } from '#adapters/local/traffic.ts';
import { InvalidWeights, ListenerNotFound } from '#core/errors.ts';
import { weightsFor } from '#core/traffic.ts';

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2';
const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1';
const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2';

describe('LocalTraffic', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'deployctl-traffic-'));
    file = path.join(dir, 'state', 'traffic.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts each listener with its given weights and an empty history', async () => {
    const traffic = await LocalTraffic.create(file, { [LISTENER]: weightsFor(BLUE, GREEN, 0) });

    expect(await traffic.weights(LISTENER)).toEqual([
      { targetGroupArn: BLUE, weight: 100 },
      { targetGroupArn: GREEN, weight: 0 },
    ]);
    expect(await traffic.history(LISTENER)).toEqual([]);
  });

  it('records three shifts in order and keeps the last as the current weights', async () => {
    await LocalTraffic.create(file, { [LISTENER]: weightsFor(BLUE, GREEN, 0) });
    const traffic = new LocalTraffic(file);

    await traffic.shift(LISTENER, weightsFor(BLUE, GREEN, 10));
    await traffic.shift(LISTENER, weightsFor(BLUE, GREEN, 50));
    await traffic.shift(LISTENER, weightsFor(BLUE, GREEN, 0));

    const expected = [10, 50, 0].map((p) => [
      { targetGroupArn: BLUE, weight: 100 - p },
      { targetGroupArn: GREEN, weight: p },
    ]);
    expect(await traffic.history(LISTENER)).toEqual(expected);
    expect(await traffic.weights(LISTENER)).toEqual(expected[2]);
    // Another reader (the CLI) sees the same sequence in the file.
    expect(await new LocalTraffic(file).history(LISTENER)).toEqual(expected);
  });

  it('keeps every shift when several are made at once', async () => {
    const traffic = await LocalTraffic.create(file, { [LISTENER]: weightsFor(BLUE, GREEN, 0) });

    await Promise.all([10, 20, 30, 40].map((p) => traffic.shift(LISTENER, weightsFor(BLUE, GREEN, p))));

    expect((await traffic.history(LISTENER)).map((weights) => weights[1]?.weight)).toEqual([10, 20, 30, 40]);
  });

  it('refuses invalid weights and leaves the file as it was', async () => {
    const traffic = await LocalTraffic.create(file, { [LISTENER]: weightsFor(BLUE, GREEN, 0) });
    const before = await readFile(file, 'utf8');

    await expect(traffic.shift(LISTENER, [{ targetGroupArn: GREEN, weight: 1000 }])).rejects.toThrow(InvalidWeights);
    await expect(
      traffic.shift(LISTENER, [
        { targetGroupArn: BLUE, weight: 0 },
        { targetGroupArn: GREEN, weight: 0 },
      ]),
    ).rejects.toThrow(InvalidWeights);

    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('refuses to create a listener with invalid initial weights', async () => {
    await expect(LocalTraffic.create(file, { [LISTENER]: [{ targetGroupArn: BLUE, weight: -5 }] })).rejects.toThrow(InvalidWeights);
  });

  it('reports an unknown listener as ListenerNotFound', async () => {
    const traffic = await LocalTraffic.create(file, { [LISTENER]: weightsFor(BLUE, GREEN, 0) });
    const other = `${LISTENER}-other`;

    await expect(traffic.weights(other)).rejects.toThrow(ListenerNotFound);
    await expect(traffic.shift(other, weightsFor(BLUE, GREEN, 10))).rejects.toMatchObject({ name: 'ListenerNotFound', listenerArn: other });
    await expect(traffic.history(other)).rejects.toThrow(ListenerNotFound);
  });
});
