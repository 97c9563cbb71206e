import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CommandStatusEvent, LocalFleet } from '#adapters/local/fleet.ts';
import { DEFAULT_MANAGED_TAG } from '#core/managed-tag.ts';
import { DEPLOY_DOCUMENT, DeploymentSpec, type DeploymentSpecInput, DOCUMENT_PARAMETERS } from '#core/spec.ts';
import { DEPLOY_SCRIPT, DeployDocument } from '#lib/deploy-document.ts';
import { rollingSpec, startFlow } from '#test/flows/harness.ts';
import {
  FREE_TEXT,
  fieldOf,
  isObject,
  type Placement,
  place,
  placements,
  SAMPLES,
  type StringField,
  stringFields,
  valueAt,
} from '#test/security/spec-fields.ts';

/**
 * No injection: spec values reach hosts only as SSM document parameters.
 * Every string field of the spec (found by walking the zod schema) gets
 * shell metacharacters and other hostile text; each is refused with the field
 * named, or kept verbatim by a field whose value never reaches a host as text
 * (FREE_TEXT in spec-fields.ts says where it goes). A real local deployment then carries the
 * accepted hostile text to the end and runs none of it.
 */

/** Hostile values; MARK stands for a marker file that must never be created. */
const HOSTILE = [
  '; touch MARK',
  '| touch MARK',
  '&& touch MARK',
  '$(touch MARK)',
  '`touch MARK`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '${IFS}touch${IFS}MARK',
  '> MARK',
  'a\ntouch MARK',
  'a\r\ntouch MARK',
  "a'; touch MARK; '",
  'a"; touch MARK; "',
  '../../../../tmp/MARK',
  'a\0touch MARK',
  'x'.repeat(5000),
  '\u202e1.0.0',
  '1.0.0\u037e touch MARK',
  '1.0.0\uff1btouch MARK',
  '1.0.0\u2028touch MARK',
  '1.0.0\u200btouch',
  '{{ssm:/prod/db-password}}',
] as const;

const withMarker = (value: string, marker: string) => value.replaceAll('MARK', marker);

/** Single characters a shell treats specially, each refused by every restricted field and every allowedPattern. */
const SHELL_METACHARACTERS = [
  ';',
  '|',
  '&',
  '$',
  '`',
  '<',
  '>',
  '(',
  ')',
  "'",
  '"',
  '\\',
  ' ',
  '\t',
  '\n',
  '\r',
  '*',
  '?',
  '[',
  ']',
  '{',
  '}',
  '!',
  '#',
  '~',
  '\0',
];

const FIELDS = stringFields();
const label = (field: StringField) =>
  `${field.pattern.join('.')}${field.key ? ' (key)' : ''}${field.strategy ? ` [${field.strategy}]` : ''}`;

/**
 * Where to put hostile values for a field: each distinct place the samples
 * carry it at (every parameter name of every document, say), or else a place
 * it can be added to.
 */
function targetsOf(field: StringField): { sample: DeploymentSpecInput; placement: Placement }[] {
  // The smallest samples first: each field is put where it parses fastest.
  const fits = SAMPLES.filter((s) => !field.strategy || (isObject(s.strategy) && s.strategy.type === field.strategy)).sort(
    (a, b) => JSON.stringify(a).length - JSON.stringify(b).length,
  );
  let found = fits.flatMap((sample) => placements(sample, field).map((placement) => ({ sample, placement })));
  if (found.length === 0)
    found = fits.flatMap((sample) => placements(sample, field, { addLast: true }).map((placement) => ({ sample, placement })));
  const seen = new Set<string>();
  return found.filter(({ placement }) => {
    const at = `${placement.path.join('.')}${placement.key ? ' (key)' : ''}`;
    if (seen.has(at)) return false;
    seen.add(at);
    return true;
  });
}

describe('the spec against hostile text in its string fields', () => {
  it('has valid samples that carry every string field the schema has (a new field needs a sample in spec-fields.ts)', () => {
    for (const sample of SAMPLES)
      expect(DeploymentSpec.safeParse(sample).error?.issues, JSON.stringify(sample).slice(0, 80)).toBeUndefined();
    const missing = FIELDS.filter((field) => targetsOf(field).length === 0).map(label);

    expect(missing).toEqual([]);
    // The walk found the fields that matter most (a broken walker finds nothing and passes the rest vacuously).
    const found = FIELDS.map(label);
    for (const name of [
      'app',
      'version',
      'targets.tags.{key} (key)',
      'command.parameters.*.#',
      'strategy.listenerArn [blueGreen]',
      'window.timezone',
    ]) {
      expect(found).toContain(name);
    }
  });

  it('has samples that give every parameter of every document the orchestrator may send', () => {
    const given = new Set<string>();
    for (const sample of SAMPLES) {
      const strategy: Record<string, unknown> = isObject(sample.strategy) ? sample.strategy : {};
      for (const command of [sample.command, sample.rollbackCommand, strategy.validationCommand]) {
        if (!isObject(command)) continue;
        for (const name of Object.keys(isObject(command.parameters) ? command.parameters : {}))
          given.add(`${command.document ?? DEPLOY_DOCUMENT}.${name}`);
      }
    }
    const declared = Object.entries(DOCUMENT_PARAMETERS).flatMap(([document, parameters]) =>
      Object.keys(parameters).map((name) => `${document}.${name}`),
    );

    expect(declared.filter((name) => !given.has(name))).toEqual([]);
    // The one parameter whose value is code: free text in FREE_TEXT, and nowhere else.
    const code = Object.entries(DOCUMENT_PARAMETERS).flatMap(([document, parameters]) =>
      Object.entries(parameters)
        .filter(([, parameter]) => parameter.code)
        .map(([name]) => `${document}.${name}`),
    );
    expect(code).toEqual(['AWS-RunShellScript.commands']);
  });

  it('refuses every hostile value in every string field with that field named, unless the field is free text that never reaches a shell and keeps the value verbatim', () => {
    const wrong: string[] = [];
    let refused = 0;
    let inert = 0;
    for (const field of FIELDS) {
      for (const { sample, placement } of targetsOf(field)) {
        for (const value of [...HOSTILE, ...SHELL_METACHARACTERS.map((c) => `a${c}b`)]) {
          const result = DeploymentSpec.safeParse(place(sample, placement, value));
          const name = fieldOf(placement, value);
          if (!result.success) {
            const fields = result.error.issues.map((issue) => issue.path.map(String).join('.'));
            if (fields.includes(name)) refused++;
            else wrong.push(`${JSON.stringify(value)} in ${name}: refused, but the errors name ${fields.join(', ') || '(spec)'}`);
            continue;
          }
          const reason = FREE_TEXT.find((entry) => entry.field.test(name))?.goes;
          if (!reason) wrong.push(`${JSON.stringify(value)} in ${name}: accepted by a field that is not known to be inert`);
          else if (valueAt(result.data, placement, value) !== value)
            wrong.push(`${JSON.stringify(value)} in ${name}: accepted, but changed`);
          else inert++;
        }
      }
    }

    expect(wrong).toEqual([]);
    expect(refused).toBeGreaterThan(FIELDS.length * 10);
    expect(inert).toBeGreaterThan(0);
  });

  it('refuses __proto__ as a tag key, which a parsed record would drop silently and so target more hosts', () => {
    const body = JSON.parse('{"app":"web","environment":"prod","version":"1.0.0","targets":{"tags":{"app":"web","__proto__":"canary"}}}');

    const result = DeploymentSpec.safeParse(body);

    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['targets.tags.__proto__']);
  });

  it('refuses a parameter that the document does not declare, naming it and the parameters the document takes', () => {
    const result = DeploymentSpec.safeParse({ ...rollingSpec('web'), command: { parameters: { channel: ['$(reboot)'] } } });

    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['command', 'parameters', 'channel'],
        message: expect.stringContaining('it takes app, environment, version, action'),
      }),
    ]);
  });

  it('lets an Ansible SourceInfo name a SecureString for its GitHub token, and refuses any other {{ }} reference SSM would resolve', () => {
    const ansible = (sourceInfo: string) =>
      DeploymentSpec.safeParse({
        ...rollingSpec('web'),
        command: { document: 'AWS-ApplyAnsiblePlaybooks', parameters: { SourceType: ['GitHub'], SourceInfo: [sourceInfo] } },
      });

    expect(ansible('{"owner":"acme","repository":"plays","path":"site","tokenInfo":"{{ssm-secure:github-token}}"}').success).toBe(true);
    for (const reference of ['{{ssm:/prod/db-password}}', '{{ resolve:secretsmanager:db }}', '{{ssm-secure:x}} }}', '{{ssm-secure:a;b}}']) {
      const result = ansible(`{"owner":"acme","tokenInfo":"${reference}"}`);
      expect(
        result.error?.issues.map((i) => i.path.join('.')),
        reference,
      ).toEqual(['command.parameters.SourceInfo.0']);
    }
  });

  it('refuses a second value for a parameter that takes one, and no value for one that takes a list', () => {
    const result = DeploymentSpec.safeParse({
      ...rollingSpec('web'),
      command: { document: 'AWS-RunPatchBaseline', parameters: { Operation: ['Scan', 'Install'] } },
      rollbackCommand: { document: 'AWS-RunShellScript', parameters: { commands: [] } },
    });

    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['command.parameters.Operation', 'give exactly one value'],
      ['rollbackCommand.parameters.commands', 'give at least one value'],
    ]);
  });
});

/** The deploy document as CloudFormation receives it. */
function synthesizedDocument() {
  const stack = new Stack(new App(), 'Doc');
  new DeployDocument(stack, 'Deploy');
  const [document] = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Document'));
  return document?.Properties.Content as {
    parameters: Record<string, { type: string; allowedPattern: string; interpolationType: string }>;
    mainSteps: { action: string; inputs: { runCommand: string[] } }[];
  };
}

describe('the synthesized deploy document', () => {
  const content = synthesizedDocument();

  it("checks each parameter with exactly the spec's own pattern for it", () => {
    const declared = DOCUMENT_PARAMETERS[DEPLOY_DOCUMENT];
    expect(Object.keys(content.parameters).sort()).toEqual(Object.keys(declared).sort());
    for (const [name, parameter] of Object.entries(content.parameters)) {
      expect(parameter, name).toMatchObject({
        type: 'String',
        interpolationType: 'ENV_VAR',
        allowedPattern: declared[name]?.pattern.source,
      });
    }
    // The spec fields these parameters come from use the same patterns.
    expect(content.parameters.app?.allowedPattern).toBe(z.toJSONSchema(DeploymentSpec.shape.app).pattern);
    expect(content.parameters.environment?.allowedPattern).toBe(z.toJSONSchema(DeploymentSpec.shape.environment).pattern);
    expect(content.parameters.version?.allowedPattern).toBe(z.toJSONSchema(DeploymentSpec.shape.version).pattern);
  });

  it('has allowedPatterns that, compiled as SSM compiles them, accept a valid value and refuse every shell metacharacter and hostile value', () => {
    const valid: Record<string, string> = { app: 'web', environment: 'prod', version: '1.2.3+build.4', action: 'rollback' };
    for (const [name, parameter] of Object.entries(content.parameters)) {
      const pattern = new RegExp(parameter.allowedPattern);
      const sample = valid[name] ?? '';
      expect(pattern.test(sample), `${name} accepts ${sample}`).toBe(true);
      for (const character of SHELL_METACHARACTERS) {
        for (const value of [
          character,
          `${sample}${character}`,
          `${character}${sample}`,
          `${sample.slice(0, 1)}${character}${sample.slice(1)}`,
        ]) {
          expect(pattern.test(value), `${name} refuses ${JSON.stringify(value)}`).toBe(false);
        }
      }
      for (const value of HOSTILE)
        expect(pattern.test(withMarker(value, '/tmp/m')), `${name} refuses ${JSON.stringify(value)}`).toBe(false);
      expect(pattern.test('..'), `${name} refuses ..`).toBe(false);
    }
  });

  it('passes parameters only as environment variables, each expanded inside double quotes, and never evaluates one', () => {
    const script = content.mainSteps.flatMap((step) => step.inputs.runCommand);
    expect(script.join('\n')).toBe(readFileSync(DEPLOY_SCRIPT, 'utf8'));
    expect(script.join('\n')).not.toMatch(/\{\{|\}\}/);
    expect(script.join('\n')).not.toMatch(/\beval\b|\bsh -c\b|\bbash -c\b|\bsource\b|^\s*\.\s/m);
    const code = script.filter((line) => !line.trimStart().startsWith('#'));
    const unquoted = code.map((line) => line.replace(/"[^"]*"/g, '""')).filter((line) => /SSM_/.test(line));
    expect(unquoted).toEqual([]);
    expect(code.join('\n')).toMatch(/"\$SSM_version"/);
  });
});

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

describe('the deploy script on a local host, were a hostile value to get past validation and allowedPattern', () => {
  async function runDeploy(parameters: Record<string, string[]>) {
    const dir = mkdtempSync(path.join(tmpdir(), 'deployctl-inject-'));
    const fleetDir = path.join(dir, 'fleet');
    const markers = path.join(dir, 'markers');
    await mkdir(markers);
    const tags = { app: 'web', [DEFAULT_MANAGED_TAG.key]: DEFAULT_MANAGED_TAG.value };
    await LocalFleet.create(fleetDir, [{ instanceId: 'i-00000000000000001', tags, online: true }]);
    let finished: (event: CommandStatusEvent) => void = () => undefined;
    const done = new Promise<CommandStatusEvent>((resolve) => {
      finished = resolve;
    });
    const fleet = new LocalFleet({
      dir: fleetDir,
      documents: { [DEPLOY_DOCUMENT]: readFileSync(DEPLOY_SCRIPT, 'utf8') },
      onCommandFinished: (e) => finished(e),
    });
    const resolved = Object.fromEntries(
      Object.entries(parameters).map(([name, values]) => [name, values.map((v) => withMarker(v, path.join(markers, name)))]),
    );
    const commandId = await fleet.send({
      instanceIds: ['i-00000000000000001'],
      document: DEPLOY_DOCUMENT,
      parameters: resolved,
      timeoutSeconds: 30,
      comment: 'injection',
    });
    await done;
    const [invocation] = await fleet.invocations(commandId);
    const host = fleet.hostDir('i-00000000000000001');
    return {
      invocation,
      host,
      resolved,
      markers: readdirSync(markers),
      outside: filesUnder(dir).filter((f) => !f.startsWith(`${host}${path.sep}`)),
    };
  }

  it('keeps a version and an environment full of shell syntax as literal text and runs none of it', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    const hostile = '$(touch MARK); `touch MARK` | touch MARK && touch MARK > MARK \'"${IFS}';
    const { invocation, host, resolved, markers } = await runDeploy({
      app: ['web'],
      environment: [hostile],
      version: [hostile],
      action: ['deploy'],
    });

    expect(invocation?.status).toBe('Success');
    expect(markers).toEqual([]);
    expect(await readFile(path.join(host, 'opt', 'deployctl', 'web', 'current'), 'utf8')).toBe(`${resolved.version?.[0]}\n`);
    expect(invocation?.output).toContain(`on ${resolved.environment?.[0]}: done`);
  });

  it('refuses an app or an action that would leave the host folder, and writes nothing', async () => {
    for (const parameters of [
      { app: ['../../escape'], environment: ['prod'], version: ['1'], action: ['deploy'] },
      { app: ['web'], environment: ['prod'], version: ['1'], action: ['../../../escape'] },
      { app: ['$(touch MARK)'], environment: ['prod'], version: ['1'], action: ['deploy'] },
    ]) {
      const { invocation, host, markers, outside } = await runDeploy(parameters);

      expect(invocation?.status, JSON.stringify(parameters)).toBe('Failed');
      expect(invocation?.output).toMatch(/refused: (app|action)/);
      expect(markers).toEqual([]);
      expect(outside.filter((f) => !f.endsWith(`${path.sep}host.json`))).toEqual([]);
      expect(
        filesUnder(host)
          .map((f) => path.relative(host, f))
          .sort(),
      ).toEqual(['commands.log', 'host.json']);
    }
  });
});

describe('a local deployment that carries hostile text in every field that accepts it', () => {
  it('runs to SUCCEEDED, creates no marker, and hosts and records get the literal values', async () => {
    const markers = mkdtempSync(path.join(tmpdir(), 'deployctl-markers-'));
    const mark = (name: string, value: string) => withMarker(value, path.join(markers, name));
    const tagKey = 'team/../../x y';
    const tagValue = '../../../../tmp/a b+c=d@e:f';
    const version = '9.9.9+build_7-rc.1';
    const spec = rollingSpec('inj-flow', {
      deploymentId: 'inj-flow',
      version,
      previousVersion: '9.9.8',
      targets: { tags: { app: 'inj-flow', environment: 'test', [tagKey]: tagValue } },
      strategy: { type: 'rolling', batchSize: '50%' },
      requestedBy: mark('requested-by', '$(touch MARK); `touch MARK` | touch MARK && touch MARK'),
      gates: { alarms: { names: [mark('alarm-1', '$(touch MARK)'), mark('alarm-2', '; touch MARK')] } },
      changeTicket: 'CHG#12.3-4_5',
    });
    const flow = await startFlow(spec, 4);
    // The hosts carry the hostile tag too, so that the filter matches them as SSM would.
    for (const host of flow.hosts) {
      const file = path.join(flow.fleetDir, host, 'host.json');
      const json = JSON.parse(await readFile(file, 'utf8')) as { tags: Record<string, string> };
      await writeFile(file, JSON.stringify({ ...json, tags: { ...json.tags, [tagKey]: tagValue } }));
    }
    flow.orchestrator.fleet.reload();

    const run = await flow.run(spec);

    expect(run.status).toBe('SUCCEEDED');
    expect(readdirSync(markers)).toEqual([]);
    expect(Object.values(await flow.versions())).toEqual(Array(4).fill(version));
    for (const host of flow.hosts) {
      const [sent] = (await readFile(path.join(flow.fleetDir, host, 'commands.log'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(sent.parameters).toEqual({ app: ['inj-flow'], environment: ['test'], version: [version], action: ['deploy'] });
      expect(
        filesUnder(path.join(flow.fleetDir, host)).every((f) => !path.relative(path.join(flow.fleetDir, host), f).startsWith('..')),
      ).toBe(true);
    }
    const record = await flow.orchestrator.record('inj-flow');
    expect(record.spec.requestedBy).toBe(spec.requestedBy);
    expect(record.spec.targets.tags).toEqual({ app: 'inj-flow', environment: 'test', [tagKey]: tagValue });
    expect(record.spec.gates.alarms.names).toEqual(spec.gates?.alarms?.names);
    expect(record).toMatchObject({ status: 'SUCCEEDED', hostCount: 4, succeeded: 4 });
  });
});
