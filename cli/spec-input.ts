import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { DeploymentSpecInput } from '#core/spec.ts';

/** The spec flags `deployctl deploy` takes; each overrides the file's value. */
export interface SpecFlags {
  readonly file?: string;
  readonly app?: string;
  readonly env?: string;
  readonly version?: string;
  readonly previousVersion?: string;
  readonly tag?: string[];
  readonly instanceIds?: string;
  readonly strategy?: string;
  readonly batchSize?: string;
  readonly maxErrors?: string;
  readonly minHealthy?: string;
  readonly bakeSeconds?: string;
  readonly alarm?: string[];
  readonly requestedBy?: string;
  readonly deploymentId?: string;
  readonly stages?: string;
  readonly stepPercent?: string;
  readonly intervalSeconds?: string;
  readonly trafficSteps?: string;
  readonly keepBlueSeconds?: string;
  readonly approval?: string;
  readonly commitTime?: string;
}

/** Strategy names as users type them, to the spec's names. */
const STRATEGY_ALIASES: Record<string, string> = { 'all-at-once': 'allAtOnce', 'blue-green': 'blueGreen' };

export class BadInput extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BadInput';
  }
}

/** "25%" stays a string; "3" becomes the number 3; anything else is left for the schema to refuse. */
function countOrPercent(value: string): string | number {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function number(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

/** Reads the spec file (YAML or JSON), then lays the flags over it. Validation is the schema's job. */
export async function specFromInput(flags: SpecFlags): Promise<Record<string, unknown>> {
  let spec: Record<string, unknown> = {};
  if (flags.file) {
    let text: string;
    try {
      text = await readFile(flags.file, 'utf8');
    } catch (error) {
      throw new BadInput(`cannot read spec file ${flags.file}: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new BadInput(`${flags.file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`, { cause: error });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadInput(`${flags.file} must hold a spec object`);
    spec = parsed as Record<string, unknown>;
  }
  const set = <K extends keyof DeploymentSpecInput>(key: K, value: unknown) => {
    if (value !== undefined) spec[key] = value;
  };
  set('deploymentId', flags.deploymentId);
  set('app', flags.app);
  set('environment', flags.env);
  set('version', flags.version);
  set('previousVersion', flags.previousVersion);
  set('requestedBy', flags.requestedBy);
  set('commitTime', flags.commitTime);
  if (flags.tag?.length) {
    const tags: Record<string, string> = {};
    for (const pair of flags.tag) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new BadInput(`--tag ${pair}: write it as key=value`);
      tags[pair.slice(0, at)] = pair.slice(at + 1);
    }
    spec.targets = { tags };
  }
  if (flags.instanceIds) spec.targets = { instanceIds: flags.instanceIds.split(',').map((s) => s.trim()) };

  const strategy = { ...((spec.strategy as Record<string, unknown> | undefined) ?? {}) };
  if (flags.strategy) strategy.type = STRATEGY_ALIASES[flags.strategy] ?? flags.strategy;
  const list = (value: string) => value.split(',').map((v) => number(v.trim()));
  if (flags.stages) strategy.stages = list(flags.stages);
  if (flags.stepPercent) strategy.stepPercent = number(flags.stepPercent);
  if (flags.intervalSeconds) strategy.intervalSeconds = number(flags.intervalSeconds);
  if (flags.trafficSteps) strategy.trafficSteps = list(flags.trafficSteps);
  if (flags.keepBlueSeconds) strategy.keepBlueSeconds = number(flags.keepBlueSeconds);
  if (flags.batchSize)
    strategy.batchSize = flags.batchSize.includes(',') ? flags.batchSize.split(',').map(countOrPercent) : countOrPercent(flags.batchSize);
  if (flags.maxErrors) strategy.maxErrors = countOrPercent(flags.maxErrors);
  if (flags.minHealthy) strategy.minHealthy = countOrPercent(flags.minHealthy);
  if (Object.keys(strategy).length > 0) spec.strategy = { type: 'rolling', ...strategy };

  const gates = { ...((spec.gates as Record<string, unknown> | undefined) ?? {}) };
  if (flags.bakeSeconds) gates.bakeSeconds = number(flags.bakeSeconds);
  if (flags.alarm?.length) gates.alarms = { names: flags.alarm };
  if (flags.approval) gates.approval = flags.approval;
  if (Object.keys(gates).length > 0) spec.gates = gates;
  return spec;
}
