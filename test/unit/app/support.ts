import type { DeploymentSpecInput } from '#core/spec.ts';
import type { DeploymentFields } from '#ports';
import { DEPLOYMENT_ID, specOf } from '#test/support/fixtures.ts';
import { memoryPorts } from '#test/support/memory-ports.ts';

/** Fixtures for the use-case tests over in-memory ports (this file holds no tests). */

export const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
export const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/73e2d6bc24d8a067';
export const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2453ed029918f21f';

/** A blue-green strategy over the test listener, shifting green to 25% then 100%. */
export const blueGreen = {
  type: 'blueGreen',
  blue: { tags: { Color: 'blue' } },
  green: { tags: { Color: 'green' } },
  listenerArn: LISTENER,
  blueTargetGroupArn: BLUE,
  greenTargetGroupArn: GREEN,
  trafficSteps: [25, 100],
} satisfies DeploymentSpecInput['strategy'];

/** Fresh in-memory ports holding one RUNNING deployment (DEPLOYMENT_ID) of the spec, with these fields set. */
export async function runningDeployment(overrides: Partial<DeploymentSpecInput> = {}, fields: DeploymentFields = {}) {
  const ports = memoryPorts();
  const spec = specOf(overrides);
  const now = ports.clock.now();
  await ports.deployments.createDeployment(DEPLOYMENT_ID, spec, DEPLOYMENT_ID, now);
  await ports.deployments.updateDeployment(DEPLOYMENT_ID, { status: 'RUNNING', ...fields }, now);
  return { ports, spec };
}
