import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { acknowledgeNagFindings } from '#lib/nag.ts';
import type { HandlerName } from '#lib/orchestrator-functions.ts';
import { type RegionalStack, STRATEGIES } from '#lib/regional-stack.ts';
import { ACCOUNT, actionsOf, ENTRY_POINTS, logicalIdOf, policiesOf, REGION, regionalStack } from '#test/infra/synth.ts';

const Report = z.object({
  pluginReports: z.array(
    z.object({
      pluginName: z.string(),
      violations: z.array(
        z.object({ ruleName: z.string(), severity: z.string(), violatingConstructs: z.array(z.object({ constructPath: z.string() })) }),
      ),
    }),
  ),
});

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

const outdirs: string[] = [];

/**
 * Synthesizes the stack with the AwsSolutions pack, as bin/app.ts does, and
 * returns every finding the validation report holds. Synthesis is told not to
 * throw on findings so that the test can show them all.
 */
function synthesizeWithNag(acknowledge: boolean): {
  stack: RegionalStack;
  findings: Finding[];
  template: Parameters<typeof policiesOf>[0];
} {
  const outdir = mkdtempSync(path.join(tmpdir(), 'deployctl-nag-'));
  outdirs.push(outdir);
  // With every optional entry point and a customer managed table key, so that the checks cover them too.
  const { app, stack } = regionalStack(
    { outdir, context: { '@aws-cdk/core:failSynthOnValidationErrors': false } },
    { ...ENTRY_POINTS, tableKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d` },
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  if (acknowledge) acknowledgeNagFindings(stack);
  const assembly = app.synth();
  const report = Report.parse(JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')));
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => ({ rule: v.ruleName, severity: v.severity, path: c.constructPath }))),
  );
  return { stack, findings, template: assembly.getStackArtifact(stack.artifactId).template };
}

/** What acknowledgeNagFindings recorded: rule id, the construct it sits on, and the reason. */
function acknowledgements(stack: RegionalStack): { id: string; path: string; reason: string }[] {
  return stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          // Ids without a plugin prefix are recorded as annotation ids; cdk-nag matches them without it.
          id: id.replace(/^annotation::/i, ''),
          path: construct.node.path,
          reason,
        })),
      ),
  );
}

let acknowledged: ReturnType<typeof synthesizeWithNag>;
let raw: ReturnType<typeof synthesizeWithNag>;

beforeAll(() => {
  acknowledged = synthesizeWithNag(true);
  raw = synthesizeWithNag(false);
});

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

const handlersOf = (stack: RegionalStack) => Object.entries(stack.functions) as [HandlerName, RegionalStack['functions'][HandlerName]][];

/** The handler whose `<arn>:*` an IAM5 finding id names, e.g. `AwsSolutions-IAM5[Resource::<FunctionsXFunction1234.Arn>:*]`. */
function invokedVersionsIn(stack: RegionalStack, id: string): HandlerName | undefined {
  return handlersOf(stack).find(([, fn]) => id === `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`)?.[0];
}

describe('cdk-nag AwsSolutions checks', () => {
  it('leave no unacknowledged error or warning', () => {
    expect(acknowledged.findings).toEqual([]);
  });

  it('leave no CDK warning or error annotation on the stack either', () => {
    const annotations = Annotations.fromStack(acknowledged.stack);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it('do run on the stack: without the acknowledgements they report findings', () => {
    expect(raw.findings.length).toBeGreaterThan(0);
    expect(raw.findings.map((f) => f.rule)).toContain('AwsSolutions-L1');
  });

  it('acknowledge only findings the stack really raises, each on the construct that raises it', () => {
    const acks = acknowledgements(acknowledged.stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      const matched = raw.findings.some((f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect(matched, `${ack.id} at ${ack.path}`).toBe(true);
    }
  });

  it('acknowledge nothing at stack level, and give every acknowledgement a specific reason', () => {
    for (const ack of acknowledgements(acknowledged.stack)) {
      expect(ack.path, ack.id).not.toBe(acknowledged.stack.node.path);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('are fixed rather than acknowledged for managed policies and state machine logging', () => {
    const rules = raw.findings.map((f) => f.rule);
    expect(rules.filter((rule) => rule.startsWith('AwsSolutions-IAM4'))).toEqual([]);
    expect(rules).not.toContain('AwsSolutions-SF1');
  });

  it('are fixed rather than acknowledged for the SNS topics: encrypted with rotating keys, TLS only', () => {
    const rules = raw.findings.map((f) => f.rule);
    for (const rule of ['AwsSolutions-SNS2', 'AwsSolutions-SNS3', 'AwsSolutions-KMS5']) expect(rules).not.toContain(rule);
    // Both topics are synthesized: the alarm topic always, the notification topic from ENTRY_POINTS.
    const topics = Object.values(raw.template.Resources ?? {}).filter((r) => r.Type === 'AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
  });

  it('acknowledge wildcard SSM targets only on the sendCommand role, and only as instances that must carry the managed tag', () => {
    const targetAcks = acknowledgements(acknowledged.stack).filter((ack) => /instance\/\*\]$/.test(ack.id));
    const sendCommandRole = acknowledged.stack.functions.sendCommand.role?.node.path;
    expect(targetAcks).toHaveLength(2);
    for (const ack of targetAcks) {
      expect(ack.path, ack.id).toBe(sendCommandRole);
      expect(ack.reason, ack.id).toContain('tagged deployctl:managed=true (ssm:resourceTag condition)');
    }
  });

  it('acknowledge the wildcard listener only on the shiftTraffic and switchBack roles', () => {
    const listenerAcks = acknowledgements(acknowledged.stack).filter((ack) => /listener\/app\/\*\]$/.test(ack.id));
    const { shiftTraffic, switchBack } = acknowledged.stack.functions;
    expect(listenerAcks.map((ack) => ack.path).sort()).toEqual([shiftTraffic.role?.node.path, switchBack.role?.node.path].sort());
  });

  it("acknowledge a function's versions and aliases (<arn>:*) only on the state machines that invoke it", () => {
    const { stack } = acknowledged;
    const versionAcks = acknowledgements(stack).filter((ack) => /:\*\]$/.test(ack.id) && ack.id.includes('Function'));
    const byRole = (path: string) =>
      versionAcks
        .filter((ack) => ack.path === path)
        .map((ack) => invokedVersionsIn(stack, ack.id) ?? ack.id)
        .sort();
    const waveFlow = [
      'validateSpec',
      'planWaves',
      'runPreChecks',
      'checkControls',
      'awaitGate',
      'sendCommand',
      'evaluateWave',
      'checkAlarms',
      'finalize',
    ];
    const machineRoles = STRATEGIES.map((strategy) => stack.stateMachines[strategy].role.node.path);
    for (const strategy of STRATEGIES) {
      const expected = strategy === 'blueGreen' ? [...waveFlow, 'shiftTraffic', 'switchBack'] : waveFlow;
      expect(byRole(stack.stateMachines[strategy].role.node.path), strategy).toEqual(expected.sort());
    }
    expect(versionAcks.filter((ack) => !machineRoles.includes(ack.path))).toEqual([]);
  });

  it("name, in each function role's wildcard acknowledgement, every action that role is granted on any resource", () => {
    const { stack, template } = acknowledged;
    const reasons = acknowledgements(stack).filter((ack) => ack.id === 'AwsSolutions-IAM5[Resource::*]');
    for (const [name, fn] of handlersOf(stack)) {
      const role = fn.role;
      if (!role) throw new Error(`${name} has no role`);
      const wildcardActions = policiesOf(template)
        .filter((policy) => policy.Properties.Roles.some((r) => r.Ref === logicalIdOf(role)))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
        .filter((s) => s.Resource === '*')
        .flatMap(actionsOf);
      const reason = reasons.filter((ack) => ack.path === role.node.path).map((ack) => ack.reason);
      expect(reason, name).toHaveLength(1);
      expect(wildcardActions.length, name).toBeGreaterThan(0);
      for (const action of wildcardActions) expect(reason[0], `${name}: ${action}`).toContain(action);
    }
  });

  it('are fixed in the API rather than acknowledged for access logging, request validation, authorization and execution logging', () => {
    const apiPath = raw.stack.api.node.path;
    const apiRules = raw.findings.filter((f) => f.path.startsWith(`${apiPath}/`)).map((f) => f.rule);
    for (const rule of ['AwsSolutions-APIG1', 'AwsSolutions-APIG2', 'AwsSolutions-APIG4', 'AwsSolutions-APIG6', 'AwsSolutions-IAM4'])
      expect(apiRules, rule).not.toContain(rule);
  });

  it('acknowledge on the API only Cognito on its IAM-authorized methods, WAF on its stage, and its function and CloudWatch Logs role', () => {
    const { stack } = acknowledged;
    const api = stack.api;
    const apiAcks = acknowledgements(stack).filter((ack) => ack.path.startsWith(`${api.node.path}/`));
    const expected = [
      ...api.api.methods.map((method) => ({ id: 'AwsSolutions-COG4', path: method.node.path })),
      { id: 'AwsSolutions-APIG3', path: api.api.deploymentStage.node.path },
      { id: 'AwsSolutions-L1', path: api.function.node.path },
      { id: 'AwsSolutions-IAM5[Resource::*]', path: api.function.role?.node.path },
      {
        id: expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:[\w-]+:\d+:log-group:\*\]$/),
        path: api.cloudWatchRole?.node.path,
      },
    ];
    expect(apiAcks.map(({ id, path }) => ({ id, path }))).toEqual(expect.arrayContaining(expected));
    expect(apiAcks).toHaveLength(expected.length);
    expect(api.api.methods).toHaveLength(10);
  });
});
