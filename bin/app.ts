#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from '../lib/nag.ts';
import { RegionalStack, type RegionalStackProps } from '../lib/regional-stack.ts';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

/**
 * Optional parts from the `deployctl` context key (cdk.json, or
 * `-c deployctl='{...}'`): `pipelines` (CodePipeline), `maintenanceWindows`
 * (EventBridge Scheduler), `notifications` (SNS for status changes) and
 * `alarmTopicArn` (an existing topic for the fault alarms). The constructs
 * validate their input at synth and name the field at fault.
 */
type Configurable = Pick<RegionalStackProps, 'pipelines' | 'maintenanceWindows' | 'notifications' | 'alarmTopicArn'>;

function entryPoints(): Configurable {
  const raw: unknown = app.node.tryGetContext('deployctl');
  const config = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? {})) as Configurable;
  return {
    ...(config.pipelines ? { pipelines: config.pipelines } : {}),
    ...(config.maintenanceWindows ? { maintenanceWindows: config.maintenanceWindows } : {}),
    ...(config.notifications ? { notifications: config.notifications } : {}),
    ...(config.alarmTopicArn ? { alarmTopicArn: config.alarmTopicArn } : {}),
  };
}

const stack = new RegionalStack(app, 'Deployctl', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
  description: 'deployctl: fleet deployment orchestrator (regional stack)',
  ...entryPoints(),
});
acknowledgeNagFindings(stack);
app.synth();
