/**
 * Least privilege, proven: each Lambda function's role grants exactly the AWS
 * calls its code can make, plus a short named list of platform actions.
 *
 * How. The stack is synthesized; every AWS::Lambda::Function of the template
 * is matched to the OrchestratorFunction that built it, which records its
 * entry file (a function built any other way fails here, by name). From each
 * entry, test/infra/sdk-calls.ts walks the code the Lambda can run with the
 * TypeScript checker (imports, calls, calls through the ports to the adapters
 * the entry instantiates) and collects every `@aws-sdk/*` `*Command` it can
 * send. Each command maps to its IAM action by rule (`<prefix>:<Operation>`;
 * lib-dynamodb's document commands by the operation they send; transactions
 * by their parts), and to the resources the function addresses (the table,
 * index and bus its environment names, the stack's state machines, the
 * allow-listed documents...). test/infra/least-privilege.ts then checks the
 * role's statements both ways: (a) every action is granted on such a
 * resource; (b) every granted action and resource is one of those, or a
 * platform action the template calls for (X-Ray for active tracing, log
 * writes to the function's own group, sendMessage to its async failure queue,
 * KMS for a table under a customer managed key), each with its reason.
 *
 * So no list of calls is kept by hand on the test side: a new SDK call
 * without its grant fails (a); a grant whose call was removed fails (b); a
 * new function fails until its grants are right, or names why its code
 * cannot be read.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import type { RegionalStack } from '#lib/regional-stack.ts';
import { FUNCTIONS, type FunctionName } from '#registry';
import {
  codeCallsOf,
  compare,
  type LambdaUnderTest,
  lambdasOf,
  needsOf,
  PLATFORM_ACTIONS,
  registryCallsOf,
  relativeEntry,
  type Statement,
  statementsOfRole,
  type TemplateJson,
  UNSCOPED_ACTIONS,
} from '#test/infra/least-privilege.ts';
import { PROJECT_ROOT, SdkCallAnalyzer } from '#test/infra/sdk-calls.ts';
import { ACCOUNT, ENTRY_POINTS, REGION, regionalStack } from '#test/infra/synth.ts';

const TABLE_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f3c5b6a-1d2e-4f50-8a9b-0c1d2e3f4a5b`;

interface Configuration {
  readonly label: string;
  readonly stack: RegionalStack;
  readonly template: TemplateJson;
  readonly lambdas: readonly LambdaUnderTest[];
}

function configure(label: string, props: Parameters<typeof regionalStack>[1]): Configuration {
  const { stack } = regionalStack({}, props);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  return { label, stack, template, lambdas: lambdasOf(stack, template) };
}

// Synthesized while the tests are collected: the functions found name the tests.
const configurations = [
  configure('the default stack', {}),
  configure('every option: entry points, a customer managed table key, the multi-region control region', {
    ...ENTRY_POINTS,
    tableKeyArn: TABLE_KEY_ARN,
    multiRegion: { controlRegion: REGION, regions: [REGION, 'us-east-1'] },
  }),
];
const entries = [...new Set(configurations.flatMap((c) => c.lambdas.flatMap((fn) => (fn.entry ? [fn.entry] : []))))];
const FIXTURE = `${PROJECT_ROOT}/test/fixtures/sdk-calls/entry.ts`;
const UNWIRED_FIXTURE = `${PROJECT_ROOT}/test/fixtures/sdk-calls/unwired-entry.ts`;
const analyzer = new SdkCallAnalyzer([...entries, FIXTURE, UNWIRED_FIXTURE]);

const roleOf = (config: Configuration, fn: LambdaUnderTest): string => {
  const role = (config.template.Resources?.[fn.logicalId]?.Properties?.Role ?? {}) as { 'Fn::GetAtt'?: [string, string] };
  const id = role['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`${fn.name} has no role of this template`);
  return id;
};

const cases = configurations.flatMap((config) => config.lambdas.map((fn) => ({ config, fn, label: `${fn.name} (${config.label})` })));

describe('every Lambda function of the stack', () => {
  it.each(configurations)('in $label is built from an entry file whose AWS calls the analysis can read', (config) => {
    expect(config.lambdas.length).toBeGreaterThan(0);
    for (const fn of config.lambdas) {
      const { problems } = needsOf(fn, analyzer, config.template, REGION, ACCOUNT);
      expect(problems, fn.name).toEqual([]);
    }
  });

  it.each(cases)('$label is granted every AWS call its code can make, on the resources it addresses', ({ config, fn }) => {
    const { needs } = needsOf(fn, analyzer, config.template, REGION, ACCOUNT);
    const { missing } = compare(needs, statementsOfRole(config.template, roleOf(config, fn)));
    expect(missing, `${fn.name}: not granted`).toEqual([]);
  });

  it.each(cases)('$label is granted nothing beyond its code’s calls and the named platform actions', ({ config, fn }) => {
    const { needs } = needsOf(fn, analyzer, config.template, REGION, ACCOUNT);
    const { excess } = compare(needs, statementsOfRole(config.template, roleOf(config, fn)));
    expect(excess, `${fn.name}: granted without a call`).toEqual([]);
  });

  it.each(cases)('$label makes exactly the AWS calls its registry entry lists, no more and no fewer', ({ fn }) => {
    expect(fn.registryName, `${fn.name}: not a function of lambdas/registry.ts`).toBeDefined();
    const name = fn.registryName as FunctionName;
    expect(codeCallsOf(fn.entry ?? '', analyzer), `${fn.name} (${name}): the code's calls against the registry's`).toEqual(
      registryCallsOf(name),
    );
  });

  it.each(cases)('$label wires an adapter for every port its code can call', ({ fn }) => {
    expect(analyzer.analyze(fn.entry ?? '').unwired, `${fn.name}: ports called but not wired by its entry`).toEqual([]);
  });

  it.each(cases)('$label has a role of its own with no managed policies', ({ config, fn }) => {
    const role = roleOf(config, fn);
    const users = config.lambdas.filter((other) => roleOf(config, other) === role).map((other) => other.name);
    expect(users).toEqual([fn.name]);
    expect(config.template.Resources?.[role]?.Properties?.ManagedPolicyArns).toBeUndefined();
  });
});

describe('the registry', () => {
  it('has every one of its functions built by one of the configurations, api and pipelineTrigger included', () => {
    const built = new Set(configurations.flatMap((c) => c.lambdas.map((fn) => fn.registryName)));
    expect([...built].filter((name) => name !== undefined).sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  it('tells a code call missing from a registry entry, and a listed call the code does not make', () => {
    const entry = entries.find((e) => e.endsWith('/check-alarms.ts')) ?? '';
    const code = codeCallsOf(entry, analyzer);
    expect(code).toEqual(registryCallsOf('checkAlarms'));
    expect(code).not.toEqual(registryCallsOf('checkControls'));
    expect(code).toContain('cloudwatch:DescribeAlarms');
    expect(registryCallsOf('checkControls')).not.toContain('cloudwatch:DescribeAlarms');
  });
});

describe('the coverage check', () => {
  const [defaults] = configurations;
  if (!defaults) throw new Error('no configuration');
  const find = (name: FunctionName) => {
    const fn = defaults.lambdas.find((f) => f.registryName === name);
    if (!fn) throw new Error(`no function ${name}`);
    return {
      fn,
      needs: needsOf(fn, analyzer, defaults.template, REGION, ACCOUNT).needs,
      statements: statementsOfRole(defaults.template, roleOf(defaults, fn)),
    };
  };

  it('reports a call of the code that the role does not grant', () => {
    const { needs, statements } = find('sendCommand');
    const withoutSendCommand = statements.filter((s) => ![s.Action].flat().includes('ssm:SendCommand'));
    expect(withoutSendCommand.length).toBeLessThan(statements.length);
    expect(compare(needs, withoutSendCommand).missing).toEqual([
      expect.stringMatching(/^ssm:SendCommand on .*SendCommandCommand at lambdas\/adapters\/aws\/ssm\.ts:\d+/),
    ]);
  });

  it('reports a grant that no call of the code needs', () => {
    const { needs, statements } = find('checkControls');
    const extra: Statement = { Effect: 'Allow', Action: 'ssm:SendCommand', Resource: `arn:aws:ssm:${REGION}::document/AWS-RunShellScript` };
    expect(compare(needs, statements).excess).toEqual([]);
    expect(compare(needs, [...statements, extra]).excess).toEqual([
      `ssm:SendCommand on arn:aws:ssm:${REGION}::document/AWS-RunShellScript`,
    ]);
  });

  it('reports a needed action granted on a broader resource than the code addresses', () => {
    const { needs, statements } = find('checkControls');
    const broad = statements.map((s) => ([s.Action].flat().includes('dynamodb:GetItem') ? { ...s, Resource: '*' } : s));
    const result = compare(needs, broad);
    expect(result.excess).toContain('dynamodb:GetItem on *');
    // The table's statement grants GetItem, PutItem and UpdateItem together: all three are then on *.
    expect(result.missing).toEqual([
      expect.stringMatching(/^dynamodb:GetItem on the table its environment names/),
      expect.stringMatching(/^dynamodb:PutItem on the table its environment names/),
      expect.stringMatching(/^dynamodb:UpdateItem on the table its environment names/),
    ]);
  });

  it('refuses SendCommand on instances without an ssm:resourceTag condition', () => {
    const { needs, statements } = find('sendCommand');
    const unconditioned = statements.map(({ Condition: _, ...s }) => s);
    expect(compare(needs, unconditioned).excess).toEqual([
      expect.stringMatching(/^ssm:SendCommand on arn:<AWS::Partition>:ec2:.*:instance\/\*$/),
      expect.stringMatching(/^ssm:SendCommand on arn:<AWS::Partition>:ssm:.*:managed-instance\/\*$/),
    ]);
  });

  it('fails a Lambda function that is not an OrchestratorFunction, naming it, since its code cannot be read', () => {
    const stack = new Stack(new App(), 'Other', { env: { account: ACCOUNT, region: REGION } });
    new lambda.Function(stack, 'Inline', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = 1'),
    });
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    const [fn, ...others] = lambdasOf(stack, template);
    expect(others).toEqual([]);
    expect(fn?.name).toBe('Other/Inline');
    expect(fn && needsOf(fn, analyzer, template, REGION, ACCOUNT).problems).toEqual([
      expect.stringMatching(/^Other\/Inline is not an OrchestratorFunction, so the code it runs is unknown/),
    ]);
  });

  it('names every platform action and every action granted on * with a reason', () => {
    for (const entry of Object.values(PLATFORM_ACTIONS)) expect(entry.reason.length).toBeGreaterThan(30);
    for (const reason of Object.values(UNSCOPED_ACTIONS)) expect(reason.length).toBeGreaterThan(10);
  });
});

describe('the SDK call analysis', () => {
  const callsOf = (entry: string) => [...new Set(analyzer.analyze(entry).calls.map((c) => c.command))].sort();

  it('follows calls through an interface only into the classes the entry instantiates, and skips code nothing calls', () => {
    expect(callsOf(FIXTURE)).toEqual(['DescribeDocumentCommand', 'GetCommand', 'TransactWriteCommand']);
  });

  it('reports the port methods an entry can call without wiring an adapter for them', () => {
    const { unwired } = analyzer.analyze(UNWIRED_FIXTURE);
    expect(unwired).toContain('DeploymentStore.getDeployment');
    expect(unwired).toContain('Alarms.describe');
    expect(analyzer.analyze(entries.find((e) => e.endsWith('/check-alarms.ts')) ?? '').unwired).toEqual([]);
  });

  it('records the parts of a transaction, which authorize it', () => {
    const transaction = analyzer.analyze(FIXTURE).calls.find((c) => c.command === 'TransactWriteCommand');
    expect(transaction?.transactOperations).toEqual(['ConditionCheck', 'Put']);
  });

  it('reads each function’s calls at method level: the alarm gate sends no SSM call although its adapters module holds them', () => {
    const checkAlarms = entries.find((e) => e.endsWith('/check-alarms.ts'));
    expect(checkAlarms).toBeDefined();
    const calls = callsOf(checkAlarms ?? '');
    expect(calls).toContain('DescribeAlarmsCommand');
    expect(calls.filter((c) => /^(SendCommand|DescribeInstanceInformation|ListCommand)/.test(c))).toEqual([]);
  });

  it('never reaches the local adapters or the CLI from a Lambda entry', () => {
    for (const entry of entries) {
      const files = analyzer.analyze(entry).files;
      expect(files, relativeEntry(entry)).toContain(relativeEntry(entry));
      expect(
        files.filter((f) => f.startsWith('lambdas/adapters/local/') || f.startsWith('cli/')),
        relativeEntry(entry),
      ).toEqual([]);
    }
  });
});
