import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAULTS, faultTable, runFault } from '#test/flows/fault-matrix.ts';

/** The fault matrix (test/flows/fault-matrix.ts) against the rolling state machine. */
describe('the fault matrix on the rolling state machine', () => {
  for (const [n, fault] of FAULTS.entries()) {
    it(`ends ${fault.expected('rolling').status} after "${fault.name}", with hosts, commands, lock and audit trail as the matrix says`, () =>
      runFault(fault, 'rolling', n));
  }

  it('is the table the README shows under "Reliability", row for row', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(faultTable());
  });
});
