import { SsmInventory } from '#adapters/aws/ssm.ts';
import type { Inventory } from '#ports';
import { ssm } from './ssm.ts';

/** The `inventory` port: SSM managed instances. */
export const inventory: Inventory = new SsmInventory(ssm);
