#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deployctlStacks } from '#lib/app-stacks.ts';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// One regional stack, or (with `controlRegion` and `regions` in the deployctl context) one per region plus the fan-out.
deployctlStacks(app, { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
app.synth();
