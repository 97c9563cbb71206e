#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from '../lib/nag.ts';
import { RegionalStack, type RegionalStackProps } from '../lib/regional-stack.ts';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

/**
 * Optional entry points from the `deployctl` context key (cdk.json, or
 * `-c deployctl='{...}'`): `pipelines` (CodePipeline) and
 * `maintenanceWindows` (EventBridge Scheduler). The constructs validate
 * every spec at synth and name the field at fault.
 */
function entryPoints(): Pick<RegionalStackProps, 'pipelines' | 'maintenanceWindows'> {
  const raw: unknown = app.node.tryGetContext('deployctl');
  const config = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {})) as Pick<RegionalStackProps, 'pipelines' | 'maintenanceWindows'>;
  return {
    ...(config.pipelines ? { pipelines: config.pipelines } : {}),
    ...(config.maintenanceWindows ? { maintenanceWindows: config.maintenanceWindows } : {}),
  };
}

const stack = new RegionalStack(app, 'Deployctl', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
  description: 'deployctl: fleet deployment orchestrator (regional stack)',
  ...entryPoints(),
});
acknowledgeNagFindings(stack);
app.synth();
