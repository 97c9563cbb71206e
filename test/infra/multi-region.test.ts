import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import aslValidator from 'asl-validator';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deployctlStacks } from '#lib/app-stacks.ts';
import type { RegionalStack } from '#lib/regional-stack.ts';
import { ACCOUNT, type Json, logicalIdOf } from '#test/infra/synth.ts';

/**
 * The app from a multi-region config, as `cdk synth` builds it from the
 * deployctl context: eu-west-1 is the control region and deploys too;
 * us-east-1 has its own notification settings. Synthesized once, with cdk-nag.
 */
const CONFIG = {
  controlRegion: 'eu-west-1',
  regions: ['eu-west-1', { region: 'us-east-1', notifications: { emails: ['us-ops@example.com'] } }],
  notifications: { emails: ['ops@example.com'] },
};

const busArn = (region: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:${region}:${ACCOUNT}:event-bus/default`]],
});

const Report = z.object({
  pluginReports: z.array(
    z.object({
      violations: z.array(z.object({ ruleName: z.string(), violatingConstructs: z.array(z.object({ constructPath: z.string() })) })),
    }),
  ),
});

let outdir: string;
let stacks: RegionalStack[];
let control: RegionalStack;
let regional: RegionalStack;
let templates: Map<string, Template>;
let findings: string[];

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'deployctl-multi-region-'));
  const app = new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:failSynthOnValidationErrors': false, deployctl: CONFIG },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  stacks = deployctlStacks(app, { account: ACCOUNT });
  const assembly = app.synth();
  templates = new Map(stacks.map((s) => [s.stackName, Template.fromJSON(assembly.getStackArtifact(s.artifactId).template)]));
  [control, regional] = stacks as [RegionalStack, RegionalStack];
  const report = Report.parse(JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')));
  findings = report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)),
  );
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the construct under test is missing');
  return value;
}

const template = (stack: RegionalStack): Template => {
  const found = templates.get(stack.stackName);
  if (!found) throw new Error(`no template for ${stack.stackName}`);
  return found;
};

describe('the multi-region app from the deployctl context', () => {
  it('has one regional stack per region, in its region, and the fan-out only in the control region', () => {
    expect(stacks.map((s) => [s.stackName, s.region])).toEqual([
      ['Deployctl-eu-west-1', 'eu-west-1'],
      ['Deployctl-us-east-1', 'us-east-1'],
    ]);
    expect(control.fanOut).toBeDefined();
    expect(regional.fanOut).toBeUndefined();
    template(control).hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'Deployctl-eu-west-1-fanOut' });
    template(regional).resourcePropertiesCountIs(
      'AWS::StepFunctions::StateMachine',
      { StateMachineName: Match.stringLikeRegexp('fanOut') },
      0,
    );
    // The control stack's outputs let the CLI and the API start the fan-out like any strategy.
    const outputs = template(control).findOutputs('StateMachineArns');
    expect(JSON.stringify(outputs)).toContain('fanOut');
  });

  it('gives each region its own settings over the top-level ones', () => {
    template(regional).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'us-ops@example.com' });
    template(regional).resourcePropertiesCountIs('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' }, 0);
    template(control).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('forwards "Regional Deployment Requested" for each other region to that region’s bus, by ARN built from names', () => {
    template(control).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['deployctl'], 'detail-type': ['Regional Deployment Requested'], detail: { region: ['us-east-1'] } },
      Targets: [
        Match.objectLike({
          Arn: busArn('us-east-1'),
          RoleArn: { 'Fn::GetAtt': [logicalIdOf(must(control.fanOut?.crossRegionRole)), 'Arn'] },
        }),
      ],
    });
    // Nothing is forwarded to the control region's own bus: its rules see the event where it is put.
    template(control).resourcePropertiesCountIs('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: busArn('eu-west-1') })] }, 0);
  });

  it('starts each strategy’s machine on a request for its own region, with the event’s spec as input', () => {
    for (const [stack, region] of [
      [control, 'eu-west-1'],
      [regional, 'us-east-1'],
    ] as const) {
      for (const [strategy, machine] of Object.entries(stack.stateMachines)) {
        template(stack).hasResourceProperties('AWS::Events::Rule', {
          EventPattern: {
            source: ['deployctl'],
            'detail-type': ['Regional Deployment Requested'],
            detail: { region: [region], spec: { strategy: { type: [strategy] } } },
          },
          Targets: [Match.objectLike({ Arn: { Ref: logicalIdOf(machine) }, InputPath: '$.detail.spec' })],
        });
      }
    }
  });

  it('sends "Regional Deployment Completed" from every other region to the control region’s bus, which hands it to the fan-out', () => {
    template(regional).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['deployctl'], 'detail-type': ['Regional Deployment Completed'] },
      Targets: [Match.objectLike({ Arn: busArn('eu-west-1') })],
    });
    template(control).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['deployctl'], 'detail-type': ['Regional Deployment Completed'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf(must(control.fanOut?.functions.regionCompleted)), 'Arn'] } })],
    });
  });

  it('lets EventBridge put events on the other regions’ buses only, and lets the completion handler answer only the fan-out', () => {
    template(control).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(must(control.fanOut?.crossRegionRole)) }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn('us-east-1') }] },
    });
    template(regional).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(must(regional.regionalDeployments?.crossRegionRole)) }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn('eu-west-1') }] },
    });
    template(control).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalIdOf(must(control.fanOut?.functions.regionCompleted.role)) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:SendTaskSuccess',
            Resource: Match.objectLike({
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':stateMachine:Deployctl-eu-west-1-fanOut$')])],
            }),
          }),
        ]),
      },
    });
  });

  it('references nothing across stacks: no export, no Fn::ImportValue', () => {
    for (const stack of stacks) {
      const json = JSON.stringify(template(stack).toJSON());
      expect(json).not.toContain('Fn::ImportValue');
      expect(json).not.toContain('"Export"');
    }
  });

  it('has a fan-out definition that is valid ASL, waits on a token per region with the spec’s timeout, and bakes between waves', () => {
    const resources = template(control).toJSON().Resources as Record<string, { Properties: { DefinitionString: Json } }>;
    const body = resources[logicalIdOf(must(control.fanOut?.stateMachine))]?.Properties.DefinitionString;
    const parts = (body as { 'Fn::Join': [string, Json[]] })['Fn::Join'][1];
    const resolve = (part: Json) =>
      typeof part === 'string'
        ? part
        : JSON.stringify(part) === JSON.stringify({ Ref: 'AWS::Partition' })
          ? 'aws'
          : `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:fan-out`;
    const text = parts.map(resolve).join('');
    const definition = JSON.parse(text) as {
      States: Record<string, { Type: string; ItemProcessor?: { States: Record<string, Record<string, unknown>> } }>;
    };
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
    const wave = definition.States['Deploy Region Wave'];
    expect(wave).toMatchObject({ Type: 'Map', ItemsPath: '$.waveRegions' });
    expect(wave?.ItemProcessor?.States['Request Regional Deployment']).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.timeoutSeconds',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Region Did Not Complete', ResultPath: '$.error' }],
    });
    expect(definition.States['Bake Between Region Waves']).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.regionBakeSeconds',
      Next: 'Deploy Region Wave',
    });
    expect(definition.States['Region Wave Succeeded?']).toMatchObject({ Default: 'More Region Waves?' });
  });

  it('leaves no cdk-nag AwsSolutions finding unacknowledged in any region', () => {
    expect(findings).toEqual([]);
  });
});
