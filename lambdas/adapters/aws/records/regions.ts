import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys, type RegionPhase, type RegionProgress } from '#core/records.ts';
import type { RegionStore } from '#ports';
import { TableAccess } from './table.ts';

/** Multi-region: each region's entry in the control region's record. */
export class DynamoRegions extends TableAccess implements RegionStore {
  /**
   * Multi-region: sets fields of one region's entry in the control region's
   * record (`regions.<region>`, or its `rollback` for the roll-back-all
   * policy's rollback). Each region has its own path, so the regions of a
   * wave update the record side by side.
   */
  async updateRegion(
    id: string,
    region: string,
    phase: RegionPhase,
    fields: Partial<Omit<RegionProgress, 'rollback'>>,
    now: Date,
  ): Promise<void> {
    const names: Record<string, string> = {
      '#regions': 'regions',
      '#region': region,
      ...(phase === 'rollback' ? { '#rollback': 'rollback' } : {}),
    };
    const base = phase === 'rollback' ? '#regions.#region.#rollback' : '#regions.#region';
    if (phase === 'rollback') {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.meta(id),
          UpdateExpression: `SET ${base} = if_not_exists(${base}, :empty)`,
          ConditionExpression: 'attribute_exists(#regions.#region)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
    }
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.meta(id),
        UpdateExpression: `SET ${[...entries.map((_, i) => `${base}.#f${i} = :v${i}`), 'updatedAt = :at'].join(', ')}`,
        ConditionExpression: 'attribute_exists(#regions.#region)',
        ExpressionAttributeNames: { ...names, ...Object.fromEntries(entries.map(([k], i) => [`#f${i}`, k])) },
        ExpressionAttributeValues: { ...Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])), ':at': now.toISOString() },
      }),
    );
  }
}
