import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { Finalize } from './fragments/finalize.ts';
import { validateAndRecord } from './fragments/start.ts';
import type { FanOutFunctions } from './functions.ts';
import { lambdaTask } from './retry-policy.ts';
import { catchAll, invoke, markOutcome } from './tasks.ts';

/** Re-exported for lib/ and the local runner, which name the fan-out functions by these. */
export type { FanOutFunctions, FanOutHandlerName } from './functions.ts';

/** The functions the fan-out machine invokes. */
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

    const start = validateAndRecord(this, 'Start Multi-Region Deployment', fns.startFanOut, {
      rejected: 'Multi-Region Spec Rejected',
      notStarted: 'Multi-Region Deployment Not Started',
    });
    const finalize = new Finalize(this, 'Finalize', {
      fn: fns.finalizeFanOut,
      names: {
        finalize: 'Finalize Multi-Region Deployment',
        finalizeFailed: 'Multi-Region Finalize Failed',
        outcome: 'Multi-Region Outcome?',
        succeeded: 'Every Region Succeeded',
        rolledBack: 'Regions Rolled Back',
        failed: 'Multi-Region Deployment Failed',
      },
    });
    const markFailed = markOutcome(this, 'Mark Multi-Region Deployment Failed', 'FAILED').next(finalize);

    const wave = this.regionMap(
      'Deploy Region Wave',
      'Request Regional Deployment',
      'Region Did Not Complete',
      '$.waveRegions',
      'deploy',
      fns,
    );
    const evaluateWave = this.evaluate('Evaluate Region Wave', 'deploy', fns);
    const rollback = this.regionMap(
      'Roll Back Completed Regions',
      'Request Regional Rollback',
      'Rollback Did Not Complete',
      '$.rollbackRegions',
      'rollback',
      fns,
    );
    const evaluateRollback = this.evaluate('Evaluate Regional Rollbacks', 'rollback', fns);
    catchAll(markFailed, wave, evaluateWave, rollback, evaluateRollback);

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

  /** The evaluation of a region wave's (or the rollbacks') results. */
  private evaluate(name: string, phase: 'deploy' | 'rollback', fns: FanOutFunctions): tasks.LambdaInvoke {
    return invoke(this, name, fns.evaluateRegionWave, sfn.TaskInput.fromObject({ state: sfn.JsonPath.objectAt('$'), phase }));
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
    const request = lambdaTask(this, requestName, {
      lambdaFunction: fns.requestRegion,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ request: sfn.JsonPath.objectAt('$'), taskToken: sfn.JsonPath.taskToken }),
      taskTimeout: sfn.Timeout.at('$.timeoutSeconds'),
      resultPath: '$.completion',
    });
    catchAll(new sfn.Pass(this, missedName), request);
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
