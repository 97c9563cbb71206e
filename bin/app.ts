#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from '../lib/nag.ts';
import { RegionalStack } from '../lib/regional-stack.ts';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const stack = new RegionalStack(app, 'Deployctl', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
  description: 'deployctl: fleet deployment orchestrator (regional stack)',
});
acknowledgeNagFindings(stack);
app.synth();
