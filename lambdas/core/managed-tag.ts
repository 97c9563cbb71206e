import * as z from 'zod';

/**
 * The tag an instance must carry before deployctl may send it commands: the
 * `ssm:resourceTag/<key>` condition of the SendCommand grant on AWS, and the
 * same check in the local fleet.
 */
export const ManagedInstanceTag = z.object({
  /** An EC2 / SSM tag key: 1 to 128 of letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`. */
  key: z
    .string()
    .regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, 'must be 1 to 128 letters, digits, spaces or _ . : / = + - @')
    .refine((key) => !key.toLowerCase().startsWith('aws:'), 'must not start with aws: (reserved for AWS)'),
  /** The tag's value: up to 256 of the same characters. */
  value: z.string().regex(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u, 'must be up to 256 letters, digits, spaces or _ . : / = + - @'),
});
export type ManagedInstanceTag = z.infer<typeof ManagedInstanceTag>;

/** The managed-by tag unless configured otherwise (`managedInstanceTag` in the `deployctl` context). */
export const DEFAULT_MANAGED_TAG: ManagedInstanceTag = { key: 'deployctl:managed', value: 'true' };
