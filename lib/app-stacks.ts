import type { App } from 'aws-cdk-lib';
import { multiRegionConfig, stackRegions } from './multi-region.ts';
import { acknowledgeNagFindings } from './nag.ts';
import { RegionalStack, type RegionalStackProps } from './regional-stack.ts';

/**
 * Optional parts from the `deployctl` context key (cdk.json, or
 * `-c deployctl='{...}'`): `pipelines` (CodePipeline), `maintenanceWindows`
 * (EventBridge Scheduler), `notifications` (SNS for status changes),
 * `alarmTopicArn` (an existing topic for the fault alarms), `tableKeyArn` and
 * `managedInstanceTag`. The constructs validate their input at synth and name
 * the field at fault.
 */
const CONFIGURABLE = [
  'pipelines',
  'maintenanceWindows',
  'notifications',
  'alarmTopicArn',
  'tableKeyArn',
  'managedInstanceTag',
] as const satisfies readonly (keyof RegionalStackProps)[];
type Configurable = Pick<RegionalStackProps, (typeof CONFIGURABLE)[number]>;

function entryPoints(config: Record<string, unknown>): Configurable {
  return Object.fromEntries(CONFIGURABLE.filter((key) => config[key] !== undefined).map((key) => [key, config[key]])) as Configurable;
}

/** The `deployctl` context: an object, or its JSON (from `-c deployctl='{...}'`). */
export function deployctlContext(app: App): Record<string, unknown> {
  const raw: unknown = app.node.tryGetContext('deployctl');
  const config: unknown = typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {});
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('the deployctl context must be a JSON object');
  return config as Record<string, unknown>;
}

/**
 * The app's stacks from the `deployctl` context. Without `regions`: one stack,
 * `Deployctl`, in the default region. With `controlRegion` and `regions`: one
 * regional stack per region, `Deployctl-<region>` (the control region's also
 * runs the fan-out), each with the top-level entry points unless the region
 * gives its own. Regions reach each other through EventBridge and names only.
 */
export function deployctlStacks(app: App, env: { account?: string | undefined; region?: string | undefined } = {}): RegionalStack[] {
  const context = deployctlContext(app);
  const multi = multiRegionConfig(context);
  const defaults = entryPoints(context);
  if (!multi) {
    const stack = new RegionalStack(app, 'Deployctl', {
      env: { account: env.account, region: env.region ?? 'us-east-1' },
      description: 'deployctl: fleet deployment orchestrator (regional stack)',
      ...defaults,
    });
    acknowledgeNagFindings(stack);
    return [stack];
  }
  const regions = stackRegions(multi);
  return regions.map((region) => {
    const own = multi.regions.find((r) => r.region === region) ?? { region };
    const control = region === multi.controlRegion;
    const stack = new RegionalStack(app, `Deployctl-${region}`, {
      env: { account: env.account, region },
      description: `deployctl: fleet deployment orchestrator (regional stack, ${region}${control ? ', control region' : ''})`,
      ...defaults,
      ...entryPoints(own),
      multiRegion: { controlRegion: multi.controlRegion, regions },
    });
    acknowledgeNagFindings(stack);
    return stack;
  });
}
