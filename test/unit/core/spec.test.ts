import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSpec } from '#core/errors.ts';
import { commandFor, DEPLOY_DOCUMENT, type DeploymentSpecInput, parseSpec } from '#core/spec.ts';
import { minimalSpecInput } from '#test/support/fixtures.ts';

const blueGreen = {
  type: 'blueGreen',
  blue: { tags: { Color: 'blue' } },
  green: { tags: { Color: 'green' } },
  listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/0123456789abcdef',
  blueTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/0123456789abcdef',
  greenTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/0123456789abcdef',
} as const;

function fieldErrorsOf(input: unknown) {
  try {
    parseSpec(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSpec);
    return (error as InvalidSpec).fieldErrors;
  }
  throw new Error('expected parseSpec to throw InvalidSpec');
}

const SHELL_METACHARACTERS = [';', '|', '&', '$', '`', '<', '>', '(', ')', "'", '"', '\\', ' ', '\n', '*', '?', '{', '}', '!', '#', '~'];

describe('parseSpec', () => {
  it('fills in the documented defaults for a minimal spec', () => {
    const spec = parseSpec(minimalSpecInput);

    expect(spec.strategy).toEqual({ type: 'rolling', batchSize: '25%', pauseSeconds: 0, maxErrors: 0 });
    expect(spec.command).toEqual({ document: DEPLOY_DOCUMENT, parameters: {}, timeoutSeconds: 600 });
    expect(spec.gates).toEqual({ alarms: {}, bakeSeconds: 0, approval: 'none' });
    expect(spec.requestedBy).toBe('unknown');
    expect(spec.priority).toBe('normal');
    expect(spec.previousVersion).toBeUndefined();
  });

  it('fills in maxErrors 0 for a rolling strategy that only sets its batch size', () => {
    const spec = parseSpec({ ...minimalSpecInput, strategy: { type: 'rolling', batchSize: 5 } });

    expect(spec.strategy).toEqual({ type: 'rolling', batchSize: 5, pauseSeconds: 0, maxErrors: 0 });
  });

  it('fills in window defaults for timezone, blackout dates and what happens outside', () => {
    const spec = parseSpec({ ...minimalSpecInput, window: { cron: '0 2 * * 6', durationMinutes: 120 } });

    expect(spec.window).toEqual({ cron: '0 2 * * 6', durationMinutes: 120, timezone: 'UTC', blackoutDates: [], outside: 'refuse' });
  });

  it('accepts a list of batch sizes mixing counts and percentages', () => {
    const spec = parseSpec({ ...minimalSpecInput, strategy: { type: 'rolling', batchSize: [1, '10%', '50%'] } });

    expect(spec.strategy).toMatchObject({ batchSize: [1, '10%', '50%'] });
  });

  it('fills in one traffic step of 100% and no validation command for a minimal blueGreen strategy', () => {
    const spec = parseSpec({ ...minimalSpecInput, strategy: blueGreen });

    expect(spec.strategy).toEqual({ ...blueGreen, trafficSteps: [100], keepBlueSeconds: 3600, maxErrors: 0 });
  });

  it('accepts a blueGreen validation command and fills in its defaults', () => {
    const spec = parseSpec({
      ...minimalSpecInput,
      strategy: {
        ...blueGreen,
        trafficSteps: [10, 50, 100],
        validationCommand: { document: 'AWS-RunShellScript', parameters: { commands: ['./smoke.sh'] } },
      },
    });

    expect(spec.strategy).toMatchObject({
      trafficSteps: [10, 50, 100],
      validationCommand: { document: 'AWS-RunShellScript', parameters: { commands: ['./smoke.sh'] }, timeoutSeconds: 600 },
    });
  });

  it.each([
    {
      case: 'a batch size of 0 hosts',
      field: 'strategy.batchSize',
      input: { strategy: { type: 'rolling', batchSize: 0 } },
      message: 'must be at least 1 host',
    },
    {
      case: 'a batch size of 0%',
      field: 'strategy.batchSize',
      input: { strategy: { type: 'rolling', batchSize: '0%' } },
      message: 'more than 0%',
    },
    {
      case: 'a zero in a list of batch sizes',
      field: 'strategy.batchSize.1',
      input: { strategy: { type: 'rolling', batchSize: [2, 0] } },
      message: 'at least 1 host',
    },
    {
      case: 'a maxErrors above 100%',
      field: 'strategy.maxErrors',
      input: { strategy: { type: 'rolling', maxErrors: '150%' } },
      message: 'cannot exceed 100%',
    },
    {
      case: 'traffic steps that do not increase',
      field: 'strategy.trafficSteps',
      input: { strategy: { ...blueGreen, trafficSteps: [50, 50, 100] } },
      message: 'traffic steps must increase',
    },
    {
      case: 'decreasing traffic steps',
      field: 'strategy.trafficSteps',
      input: { strategy: { ...blueGreen, trafficSteps: [100, 50, 100] } },
      message: 'traffic steps must increase',
    },
    {
      case: 'traffic steps that stop before 100',
      field: 'strategy.trafficSteps',
      input: { strategy: { ...blueGreen, trafficSteps: [10, 50] } },
      message: 'the last traffic step must be 100',
    },
    {
      case: 'a fractional traffic step',
      field: 'strategy.trafficSteps.0',
      input: { strategy: { ...blueGreen, trafficSteps: [12.5, 100] } },
      message: 'traffic steps are whole percentages',
    },
    {
      case: 'a traffic step of 0%',
      field: 'strategy.trafficSteps.0',
      input: { strategy: { ...blueGreen, trafficSteps: [0, 100] } },
      message: '>=1',
    },
    {
      case: 'no traffic steps',
      field: 'strategy.trafficSteps',
      input: { strategy: { ...blueGreen, trafficSteps: [] } },
      message: '>=1',
    },
    {
      case: 'a Network Load Balancer listener, which cannot forward by weight',
      field: 'strategy.listenerArn',
      input: {
        strategy: {
          ...blueGreen,
          listenerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/net/my-network-lb/50dc6c495c0c9188/f2f7dc8efc522ab2',
        },
      },
      message: 'weighted forwarding to several target groups is an Application Load Balancer feature',
    },
    {
      case: 'a Gateway Load Balancer listener',
      field: 'strategy.listenerArn',
      input: {
        strategy: {
          ...blueGreen,
          listenerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/gwy/my-gateway-lb/50dc6c495c0c9188/f2f7dc8efc522ab2',
        },
      },
      message: 'application load balancer listener ARN',
    },
    {
      case: 'a blueGreen validation command outside the allow list',
      field: 'strategy.validationCommand.document',
      input: { strategy: { ...blueGreen, validationCommand: { document: 'AWS-RunPowerShellScript' } } },
      message: 'Invalid input',
    },
    { case: 'an unknown strategy', field: 'strategy.type', input: { strategy: { type: 'bogus' } }, message: 'Invalid discriminator' },
    { case: 'empty targets', field: 'targets', input: { targets: {} }, message: 'give exactly one of tags, instanceIds or resourceGroup' },
    {
      case: 'two kinds of targets',
      field: 'targets',
      input: { targets: { tags: { Role: 'web' }, instanceIds: ['i-0123456789abcdef0'] } },
      message: 'give exactly one of tags, instanceIds or resourceGroup',
    },
    { case: 'an empty tag filter', field: 'targets.tags', input: { targets: { tags: {} } }, message: 'tags needs at least one key' },
    {
      case: 'a malformed instance id',
      field: 'targets.instanceIds.0',
      input: { targets: { instanceIds: ['i-xyz'] } },
      message: 'instance id',
    },
    { case: 'a version with a shell command', field: 'version', input: { version: '1.0; reboot' }, message: 'use letters, digits' },
    { case: 'an app with a command substitution', field: 'app', input: { app: '$(reboot)' }, message: 'use letters, digits' },
    {
      case: 'both regions and regionWaves',
      field: 'regionWaves',
      input: { regions: ['eu-west-1'], regionWaves: [['eu-west-1']] },
      message: 'not both',
    },
    { case: 'a malformed region', field: 'regions.0', input: { regions: ['europe'] }, message: 'AWS region' },
    {
      case: 'a command timeout under 30 seconds',
      field: 'command.timeoutSeconds',
      input: { command: { timeoutSeconds: 5 } },
      message: '>=30',
    },
    {
      case: 'a document outside the allow list',
      field: 'command.document',
      input: { command: { document: 'AWS-RunPowerShellScript' } },
      message: 'Invalid input',
    },
    {
      case: 'a window cron that is not cron',
      field: 'window.cron',
      input: { window: { cron: 'every saturday', durationMinutes: 60 } },
      message: 'not a valid cron expression',
    },
    {
      case: 'a window in an unknown time zone',
      field: 'window.timezone',
      input: { window: { cron: '0 2 * * 6', durationMinutes: 60, timezone: 'Mars/Olympus' } },
      message: 'not an IANA time zone',
    },
    {
      case: 'a commit time without a UTC designator or offset',
      field: 'commitTime',
      input: { commitTime: '2026-03-01T09:30:00' },
      message: 'ISO 8601 date-time with Z or an offset',
    },
    { case: 'a commit time that is only a date', field: 'commitTime', input: { commitTime: '2026-03-01' }, message: 'ISO 8601' },
    {
      case: 'a commit time on a day that does not exist',
      field: 'commitTime',
      input: { commitTime: '2026-02-30T09:30:00Z' },
      message: 'ISO 8601',
    },
  ])('refuses $case, naming the field $field', ({ field, input, message }) => {
    const errors = fieldErrorsOf({ ...minimalSpecInput, ...input });

    expect(errors).toContainEqual({ field, message: expect.stringContaining(message) });
  });

  it('keeps a commit time given in UTC or with an offset as it was written, and has none by default', () => {
    expect(parseSpec({ ...minimalSpecInput, commitTime: '2026-03-01T09:30:00Z' }).commitTime).toBe('2026-03-01T09:30:00Z');
    expect(parseSpec({ ...minimalSpecInput, commitTime: '2026-03-01T10:30:00.250+01:00' }).commitTime).toBe(
      '2026-03-01T10:30:00.250+01:00',
    );
    expect(parseSpec(minimalSpecInput).commitTime).toBeUndefined();
  });

  it('names the whole spec when an unknown key is given', () => {
    expect(fieldErrorsOf({ ...minimalSpecInput, extra: 1 })).toEqual([{ field: '(spec)', message: expect.stringContaining('"extra"') }]);
  });

  it('reports every missing required field at once and lists them in the error message', () => {
    let caught: unknown;
    try {
      parseSpec({});
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(InvalidSpec);
    const invalid = caught as InvalidSpec;
    expect(invalid.name).toBe('InvalidSpec');
    expect(invalid.fieldErrors.map((e) => e.field)).toEqual(['app', 'environment', 'version', 'targets']);
    expect(invalid.message).toMatch(/^invalid deployment spec: app: .+; environment: .+; version: .+; targets: .+$/);
    expect(invalid.cause).toBeDefined();
  });

  it('refuses any shell metacharacter in the app, environment, version or previous version', () => {
    const safe = fc.stringMatching(/^[A-Za-z0-9._-]{0,10}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('app', 'version', 'previousVersion', 'environment'),
        safe,
        fc.constantFrom(...SHELL_METACHARACTERS),
        safe,
        (field, before, meta, after) => {
          const errors = fieldErrorsOf({ ...minimalSpecInput, [field]: `a${before}${meta}${after}` });
          expect(errors.map((e) => e.field)).toEqual([field]);
        },
      ),
    );
  });

  it('accepts versions made of letters, digits and . _ + -', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/), (version) => {
        expect(parseSpec({ ...minimalSpecInput, version }).version).toBe(version);
      }),
    );
  });
});

describe('commandFor', () => {
  const withVersions = (overrides: Partial<DeploymentSpecInput> = {}) => parseSpec({ ...minimalSpecInput, ...overrides });

  it('gives the deploy document the app, environment, version and action as parameters', () => {
    const command = commandFor(withVersions({ command: { timeoutSeconds: 900 } }), 'deploy');

    expect(command).toEqual({
      document: DEPLOY_DOCUMENT,
      timeoutSeconds: 900,
      parameters: { app: ['web'], environment: ['prod'], version: ['1.2.3'], action: ['deploy'] },
    });
  });

  it('does not let command parameters override the version that the spec deploys', () => {
    const command = commandFor(withVersions({ command: { parameters: { version: ['6.6.6'] } } }), 'deploy');

    expect(command?.parameters.version).toEqual(['1.2.3']);
  });

  it('passes an AWS document through unchanged when deploying', () => {
    const spec = withVersions({ command: { document: 'AWS-RunShellScript', parameters: { commands: ['systemctl restart web'] } } });

    expect(commandFor(spec, 'deploy')).toEqual({
      document: 'AWS-RunShellScript',
      parameters: { commands: ['systemctl restart web'] },
      timeoutSeconds: 600,
    });
  });

  it('has no rollback command without a previous version', () => {
    expect(commandFor(withVersions(), 'rollback')).toBeUndefined();
  });

  it('rolls back to the previous version with the deploy document', () => {
    expect(commandFor(withVersions({ previousVersion: '1.2.2' }), 'rollback')).toEqual({
      document: DEPLOY_DOCUMENT,
      timeoutSeconds: 600,
      parameters: { app: ['web'], environment: ['prod'], version: ['1.2.2'], action: ['rollback'] },
    });
  });

  it('prefers an explicit rollback command over the previous version', () => {
    const spec = withVersions({
      previousVersion: '1.2.2',
      rollbackCommand: { document: 'AWS-RunShellScript', parameters: { commands: ['./undo.sh'] } },
    });

    expect(commandFor(spec, 'rollback')).toEqual({
      document: 'AWS-RunShellScript',
      parameters: { commands: ['./undo.sh'] },
      timeoutSeconds: 600,
    });
  });

  it('has no rollback command for an AWS document without a rollback command, even with a previous version', () => {
    const spec = withVersions({ previousVersion: '1.2.2', command: { document: 'AWS-RunShellScript', parameters: { commands: ['x'] } } });

    expect(commandFor(spec, 'rollback')).toBeUndefined();
  });
});
