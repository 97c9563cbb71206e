import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { DeploymentTable } from '#lib/deployment-table.ts';
import { RegionalStack, STRATEGIES } from '#lib/regional-stack.ts';
import type { FunctionName } from '#registry';
import type { StrategyName, SynthesizedFanOut, SynthesizedOrchestrator } from './synth-types.ts';

export type { SynthesizedFanOut, SynthesizedOrchestrator } from './synth-types.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/**
 * The deployment table as CloudFormation declares it, from a stack holding
 * only the table: what the commands that only read and write records need,
 * without synthesizing the state machines.
 */
export function synthesizeTable(): SynthesizedOrchestrator['table'] {
  const outdir = mkdtempSync(path.join(tmpdir(), 'deployctl-synth-'));
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'DeployctlTable', { env: { region: LOCAL_REGION, account: LOCAL_ACCOUNT } });
    new DeploymentTable(stack, 'Deployments');
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: unknown }>;
    };
    const table = Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::GlobalTable');
    if (!table) throw new Error('the table stack has no table');
    return table.Properties as SynthesizedOrchestrator['table'];
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Synthesizes the very stack `cdk deploy` ships (without bundling the
 * Lambda code) and resolves each state machine's DefinitionString: the
 * partition becomes `aws`, each function ARN a placeholder naming its handler.
 */
export function synthesizeOrchestrator(): SynthesizedOrchestrator {
  return synthesize(false).orchestrator;
}

/**
 * Multi-region local mode: the control region's stack (the local region),
 * whose strategy machines every local region runs and whose fan-out machine
 * the local control region runs.
 */
export function synthesizeMultiRegion(): { orchestrator: SynthesizedOrchestrator; fanOut: SynthesizedFanOut } {
  const { orchestrator, fanOut } = synthesize(true);
  if (!fanOut) throw new Error('the control region stack has no fan-out machine');
  return { orchestrator, fanOut };
}

function synthesize(multiRegion: boolean): { orchestrator: SynthesizedOrchestrator; fanOut?: SynthesizedFanOut } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'deployctl-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new RegionalStack(app, 'Deployctl', {
      env: { region: LOCAL_REGION, account: LOCAL_ACCOUNT },
      ...(multiRegion ? { multiRegion: { controlRegion: LOCAL_REGION, regions: [LOCAL_REGION] } } : {}),
    });
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
    };

    const nameByLogicalId = new Map<string, string>();
    const functions: Record<string, CfnResourceOwner> = { ...stack.functions, ...stack.fanOut?.functions };
    for (const [name, fn] of Object.entries(functions))
      nameByLogicalId.set(Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnResource), name);
    const nameByArn = new Map<string, string>();
    const resolve = (part: Json): string => {
      if (typeof part === 'string') return part;
      if (part && typeof part === 'object' && !Array.isArray(part)) {
        if (part.Ref === 'AWS::Partition') return 'aws';
        if (part.Ref === 'AWS::Region') return LOCAL_REGION;
        if (part.Ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
        const getAtt = part['Fn::GetAtt'];
        if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
          const handler = nameByLogicalId.get(getAtt[0]);
          if (!handler) throw new Error(`the definition refers to ${getAtt[0]}, which is not an orchestrator function`);
          const arn = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:deployctl-${handler}`;
          nameByArn.set(arn, handler);
          return arn;
        }
      }
      throw new Error(`cannot resolve ${JSON.stringify(part)} in a state machine definition`);
    };
    const definitionOf = (machine: CfnResourceOwner): StateMachineDefinition => {
      const body = template.Resources[stack.getLogicalId(machine.node.defaultChild as CfnResource)]?.Properties.DefinitionString as Json;
      const joined =
        typeof body === 'string'
          ? body
          : (((body as { 'Fn::Join': [string, Json[]] })['Fn::Join'][1] ?? []) as Json[]).map(resolve).join('');
      return JSON.parse(joined) as StateMachineDefinition;
    };

    const definitions = {} as Record<StrategyName, StateMachineDefinition>;
    for (const strategy of STRATEGIES) definitions[strategy] = definitionOf(stack.stateMachines[strategy]);
    const fanOutDefinition = stack.fanOut ? definitionOf(stack.fanOut.stateMachine) : undefined;

    const handlerByArn = new Map<string, FunctionName>();
    const fanOutByArn = new Map<string, FunctionName>();
    for (const [arn, name] of nameByArn) {
      if (name in stack.functions) handlerByArn.set(arn, name as FunctionName);
      else fanOutByArn.set(arn, name as FunctionName);
    }
    const tableResource = Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::GlobalTable');
    if (!tableResource) throw new Error('the stack has no deployment table');
    return {
      orchestrator: { definitions, handlerByArn, table: tableResource.Properties as unknown as SynthesizedOrchestrator['table'] },
      ...(fanOutDefinition ? { fanOut: { definition: fanOutDefinition, handlerByArn: fanOutByArn } } : {}),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

type CfnResourceOwner = { readonly node: { readonly defaultChild?: unknown } } & Parameters<typeof Stack.of>[0];
