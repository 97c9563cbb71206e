import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as z from 'zod';
import { ListenerNotFound } from '#core/errors.ts';
import { validateWeights } from '#core/traffic.ts';
import type { TargetGroupWeight, Traffic } from '#ports';

const Weights = z.array(z.object({ targetGroupArn: z.string(), weight: z.number() }).strict());

/** The file: each listener's current weights and every shift made to it, oldest first. */
const TrafficFile = z
  .object({
    listeners: z.record(z.string(), z.object({ weights: Weights, history: z.array(Weights) }).strict()),
  })
  .strict();
type TrafficFile = z.infer<typeof TrafficFile>;

/**
 * ALB listeners for local mode, kept in one JSON file so that a test or the
 * CLI can read the weights and the sequence of shifts. Weights are checked as
 * the AWS adapter checks them; an unknown listener is ListenerNotFound.
 */
export class LocalTraffic implements Traffic {
  /** Shifts made through this instance, one at a time: each reads, changes and rewrites the file. */
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** Writes a new file with these listeners and their initial weights, and no history. */
  static async create(file: string, listeners: Readonly<Record<string, readonly TargetGroupWeight[]>>): Promise<LocalTraffic> {
    const content: TrafficFile = { listeners: {} };
    for (const [listenerArn, weights] of Object.entries(listeners)) {
      validateWeights(weights);
      content.listeners[listenerArn] = { weights: copy(weights), history: [] };
    }
    await mkdir(path.dirname(file), { recursive: true });
    const traffic = new LocalTraffic(file);
    await traffic.write(content);
    return traffic;
  }

  async weights(listenerArn: string): Promise<TargetGroupWeight[]> {
    return listenerOf(await this.read(), listenerArn).weights;
  }

  async shift(listenerArn: string, weights: readonly TargetGroupWeight[]): Promise<void> {
    validateWeights(weights);
    const next = this.pending.then(async () => {
      const content = await this.read();
      const listener = listenerOf(content, listenerArn);
      listener.weights = copy(weights);
      listener.history.push(copy(weights));
      await this.write(content);
    });
    this.pending = next.catch(() => undefined);
    return next;
  }

  /** Every shift made to the listener, oldest first (the initial weights are not a shift). */
  async history(listenerArn: string): Promise<TargetGroupWeight[][]> {
    return listenerOf(await this.read(), listenerArn).history;
  }

  private async read(): Promise<TrafficFile> {
    return TrafficFile.parse(JSON.parse(await readFile(this.file, 'utf8')));
  }

  /** Writes through a temporary file and a rename, so a reader never sees half a file. */
  private async write(content: TrafficFile): Promise<void> {
    const temporary = `${this.file}.${randomUUID()}.tmp`;
    await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`);
    await rename(temporary, this.file);
  }
}

function listenerOf(content: TrafficFile, listenerArn: string): TrafficFile['listeners'][string] {
  const listener = Object.hasOwn(content.listeners, listenerArn) ? content.listeners[listenerArn] : undefined;
  if (!listener) throw new ListenerNotFound(listenerArn);
  return listener;
}

function copy(weights: readonly TargetGroupWeight[]): TargetGroupWeight[] {
  return weights.map(({ targetGroupArn, weight }) => ({ targetGroupArn, weight }));
}
