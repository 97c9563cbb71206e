import { SsmFleet } from '#adapters/aws/ssm.ts';
import type { FleetCommands } from '#ports';
import { ssm } from './ssm.ts';

/** The `fleet` port: SSM Run Command. */
export const fleet: FleetCommands = new SsmFleet(ssm);
