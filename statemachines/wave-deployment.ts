import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BakeAndCheck } from './fragments/bake-and-check.ts';
import { CommandWait } from './fragments/command-wait.ts';
import { FailurePolicy } from './fragments/failure-policy.ts';
import { Finalize } from './fragments/finalize.ts';
import { ApprovalGate, SafePoint } from './fragments/gates.ts';
import { Start } from './fragments/start.ts';
import type { StrategyFunctions } from './functions.ts';
import { markOutcome } from './tasks.ts';

/** How a strategy names its waves in the console graph. */
export interface WaveNames {
  /** "Wave", "Canary Stage", "Linear Step", "All Hosts". */
  readonly wave: string;
  /** The plural in "More ...?": "Waves", "Canary Stages", "Linear Steps". */
  readonly waves: string;
  /** The wait after each wave: "Wait For Bake Time", "Wait Linear Interval". */
  readonly bake: string;
}

/** The functions a wave machine invokes and the names of its wave states. */
export interface WaveDeploymentProps {
  readonly functions: StrategyFunctions;
  readonly names: WaveNames;
}

/**
 * The wave loop every host-by-host strategy shares (all-at-once, rolling,
 * canary, linear): validate and lock, plan, pre-check, then at each safe point
 * act on abort / pause / approval, send the wave, wait for the callback,
 * evaluate, bake and check alarms; roll back the changed hosts on any failure;
 * always finalize. The strategies differ in their wave plan and their names.
 */
export class WaveDeployment extends Construct {
  /** The first state. */
  public readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: WaveDeploymentProps) {
    super(scope, id);
    const fns = props.functions;
    const { wave: noun, waves, bake } = props.names;

    const finalize = new Finalize(this, 'Finalize', { fn: fns.finalize });
    const start = new Start(this, 'Start', { functions: fns, finalize });

    // The host rollback: send the rollback command, record its results, finalize.
    const rollbackFailed = markOutcome(this, 'Mark Rollback Failed', 'FAILED').next(finalize);
    const rollback = new CommandWait(this, 'Rollback', {
      send: 'Send Rollback Command',
      evaluate: 'Record Rollback Results',
      phase: 'rollback',
      functions: fns,
      onError: rollbackFailed,
    });
    rollback.next(finalize);

    const safePoint = new SafePoint(this, 'SafePoint', { controls: `Check Controls Before ${noun}`, functions: fns, onError: rollback });
    const approval = new ApprovalGate(this, 'Approval', {
      needsApproval: `${noun} Needs Approval?`,
      approval: `Wait For ${noun} Approval`,
      functions: fns,
      onError: rollback,
    });
    const onFailure = new FailurePolicy(this, 'FailurePolicy', { functions: fns, rollback, resume: safePoint, finalize });
    const deploy = new CommandWait(this, 'Deploy', {
      send: `Deploy ${noun}`,
      evaluate: `Evaluate ${noun}`,
      phase: 'deploy',
      functions: fns,
      onError: rollback,
    });
    const bakeAndCheck = new BakeAndCheck(this, 'Bake', {
      bake,
      alarms: `Check Alarms After ${noun}`,
      functions: fns,
      onAlarm: onFailure,
      onError: rollback,
    });

    const moreWaves = new sfn.Choice(this, `More ${waves}?`)
      .when(sfn.Condition.numberLessThanJsonPath('$.wave', '$.waveCount'), approval.next(deploy))
      .otherwise(markOutcome(this, 'Mark Deployment Succeeded', 'SUCCEEDED').next(finalize));
    start.next(safePoint).next(moreWaves);
    deploy.next(
      new sfn.Choice(this, 'Within Error Budget?')
        .when(sfn.Condition.stringEquals('$.verdict', 'failed'), onFailure)
        .otherwise(bakeAndCheck.next(safePoint)),
    );
    this.startState = start;
  }
}
