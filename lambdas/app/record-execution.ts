import { DeploymentExists } from '#core/errors.ts';
import type { DeploymentRecord } from '#core/records.ts';
import type { DeploymentSpec } from '#core/spec.ts';
import type { Ports } from '#ports';

/**
 * Records the deployment an execution starts, once. Answers undefined when
 * this call created the record, the record when the same execution runs again
 * (a retried first state goes on from it), and refuses (DeploymentExists) an
 * id that another execution holds or that has ended: an ended deployment is
 * never resumed, even under its own name (locally, names repeat across runs).
 */
export async function recordExecution(
  ports: Pick<Ports, 'deployments'>,
  deploymentId: string,
  spec: DeploymentSpec,
  executionName: string,
  now: Date,
): Promise<DeploymentRecord | undefined> {
  if ((await ports.deployments.createDeployment(deploymentId, spec, executionName, now)) === 'created') return undefined;
  const existing = await ports.deployments.getDeployment(deploymentId);
  if (existing.executionName !== executionName || existing.endedAt) {
    throw new DeploymentExists(
      `deployment ${deploymentId} already exists (${existing.status}, execution ${existing.executionName}); give a new deploymentId`,
    );
  }
  return existing;
}
