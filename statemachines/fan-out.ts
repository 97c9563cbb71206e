import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { invoke, TRANSIENT_ERRORS } from './fragments.ts';

/** The control region's fan-out functions, by role. Keys name the handler files in lambdas/functions (kebab-cased). */
export interface FanOutFunctions {
  readonly startFanOut: NodejsFunction;
  readonly requestRegion: NodejsFunction;
  readonly regionCompleted: NodejsFunction;
  readonly evaluateRegionWave: NodejsFunction;
  readonly finalizeFanOut: NodejsFunction;
}

export type FanOutHandlerName = keyof FanOutFunctions;

export interface FanOutDeploymentProps {
  readonly functions: FanOutFunctions;
}

/**
 * The control region's machine: validate and record the parent deployment,
 * then for each region wave request every region of it at once (a Map state;
 * each item waits on a task token until the region's "Regional Deployment
 * Completed" comes back, at most `regionPolicy.timeoutSeconds`), evaluate
 * the wave, bake, and go on; a region that does not succeed stops the later
 * waves and, under `rollbackAll`, rolls back the regions already done.
 * JSONPath throughout: the local interpreter runs it too.
 */
export class FanOutDeployment extends Construct {
  public readonly startState: sfn.IChainable;

  constructor(scope: Construct, id: string, props: FanOutDeploymentProps) {
    super(scope, id);
    const fns = props.functions;

    const start = invoke(
      this,
      'Start Multi-Region Deployment',
      fns.startFanOut,
      sfn.TaskInput.fromObject({ spec: sfn.JsonPath.objectAt('$'), executionName: sfn.JsonPath.stringAt('$$.Execution.Name') }),
    );
    start.addCatch(new sfn.Fail(this, 'Multi-Region Spec Rejected', { error: 'InvalidSpec', causePath: '$.error.Cause' }), {
      errors: ['InvalidSpec'],
      resultPath: '$.error',
    });
    start.addCatch(
      new sfn.Fail(this, 'Multi-Region Deployment Not Started', { error: 'DeploymentNotStarted', causePath: '$.error.Cause' }),
      {
        errors: ['States.ALL'],
        resultPath: '$.error',
      },
    );

    const finalize = invoke(this, 'Finalize Multi-Region Deployment', fns.finalizeFanOut);
    finalize.addCatch(new sfn.Fail(this, 'Multi-Region Finalize Failed', { error: 'FinalizeFailed', causePath: '$.error.Cause' }), {
      errors: ['States.ALL'],
      resultPath: '$.error',
    });
    finalize.next(
      new sfn.Choice(this, 'Multi-Region Outcome?')
        .when(sfn.Condition.stringEquals('$.status', 'SUCCEEDED'), new sfn.Succeed(this, 'Every Region Succeeded'))
        .when(
          sfn.Condition.stringEquals('$.status', 'ROLLED_BACK'),
          new sfn.Fail(this, 'Regions Rolled Back', { error: 'DeploymentRolledBack', causePath: '$.reason' }),
        )
        .otherwise(new sfn.Fail(this, 'Multi-Region Deployment Failed', { error: 'DeploymentFailed', causePath: '$.reason' })),
    );
    const markFailed = new sfn.Pass(this, 'Mark Multi-Region Deployment Failed', {
      result: sfn.Result.fromString('FAILED'),
      resultPath: '$.outcome',
    });
    markFailed.next(finalize);

    const wave = this.regionMap(
      'Deploy Region Wave',
      'Request Regional Deployment',
      'Region Did Not Complete',
      '$.waveRegions',
      'deploy',
      fns,
    );
    const evaluateWave = invoke(
      this,
      'Evaluate Region Wave',
      fns.evaluateRegionWave,
      sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), phase: 'deploy' }),
    );
    const rollback = this.regionMap(
      'Roll Back Completed Regions',
      'Request Regional Rollback',
      'Rollback Did Not Complete',
      '$.rollbackRegions',
      'rollback',
      fns,
    );
    const evaluateRollback = invoke(
      this,
      'Evaluate Regional Rollbacks',
      fns.evaluateRegionWave,
      sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), phase: 'rollback' }),
    );
    for (const state of [wave, evaluateWave, rollback, evaluateRollback])
      state.addCatch(markFailed, { errors: ['States.ALL'], resultPath: '$.error' });

    const bake = new sfn.Wait(this, 'Bake Between Region Waves', { time: sfn.WaitTime.secondsPath('$.regionBakeSeconds') });
    const more = new sfn.Choice(this, 'More Region Waves?')
      .when(sfn.Condition.numberLessThanJsonPath('$.regionWave', '$.regionWaveCount'), bake.next(wave))
      .otherwise(finalize);
    start.next(wave).next(evaluateWave);
    evaluateWave.next(
      new sfn.Choice(this, 'Region Wave Succeeded?')
        .when(sfn.Condition.stringEquals('$.verdict', 'rollback'), rollback.next(evaluateRollback).next(finalize))
        .when(sfn.Condition.stringEquals('$.verdict', 'failed'), finalize)
        .otherwise(more),
    );
    this.startState = start;
  }

  /**
   * A Map over region names: each item puts "Regional Deployment Requested"
   * for its region and waits on its token, at most `$.regionTimeoutSeconds`.
   * An item whose wait times out or fails ends with `$.error`, so that the
   * evaluation sees every region of the wave.
   */
  private regionMap(
    name: string,
    requestName: string,
    missedName: string,
    itemsPath: string,
    phase: 'deploy' | 'rollback',
    fns: FanOutFunctions,
  ): sfn.Map {
    const request = new tasks.LambdaInvoke(this, requestName, {
      lambdaFunction: fns.requestRegion,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ request: sfn.JsonPath.objectAt('$'), taskToken: sfn.JsonPath.taskToken }),
      taskTimeout: sfn.Timeout.at('$.timeoutSeconds'),
      resultPath: '$.completion',
    });
    request.addRetry({
      errors: TRANSIENT_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    request.addCatch(new sfn.Pass(this, missedName), { errors: ['States.ALL'], resultPath: '$.error' });
    const map = new sfn.Map(this, name, {
      itemsPath,
      itemSelector: {
        deploymentId: sfn.JsonPath.stringAt('$.deploymentId'),
        region: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
        phase,
        timeoutSeconds: sfn.JsonPath.numberAt('$.regionTimeoutSeconds'),
      },
      resultPath: '$.regionResults',
    });
    map.itemProcessor(request);
    return map;
  }
}
