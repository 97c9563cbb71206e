import { describe, it } from 'vitest';
import { FAULTS, runFault } from '#test/flows/fault-matrix.ts';

/** The fault matrix (test/flows/fault-matrix.ts) against the canary state machine. */
describe('the fault matrix on the canary state machine', () => {
  for (const [n, fault] of FAULTS.entries()) {
    it(`ends ${fault.expected('canary').status} after "${fault.name}", with hosts, commands, lock and audit trail as the matrix says`, () =>
      runFault(fault, 'canary', n));
  }
});
