#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { RegionalStack } from '../lib/regional-stack.ts';

const app = new App();
new RegionalStack(app, 'Deployctl', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1' },
  description: 'deployctl: fleet deployment orchestrator (regional stack)',
});
app.synth();
