import { describe, expect, it } from 'vitest';
import { createAwaitGate } from '#handlers/await-gate.ts';
import { createCheckAlarms } from '#handlers/check-alarms.ts';
import { createCheckControls } from '#handlers/check-controls.ts';
import { createCommandCallback } from '#handlers/command-callback.ts';
import { createControlDeployment } from '#handlers/control-deployment.ts';
import { createEvaluateWave } from '#handlers/evaluate-wave.ts';
import { createExecutionStatus } from '#handlers/execution-status.ts';
import { createFinalize } from '#handlers/finalize.ts';
import { createPlanWaves } from '#handlers/plan-waves.ts';
import { createRunPreChecks } from '#handlers/run-pre-checks.ts';
import { createSendCommand } from '#handlers/send-command.ts';
import { createShiftTraffic, createSwitchBack } from '#handlers/shift-traffic.ts';
import { createValidateSpec } from '#handlers/validate-spec.ts';
import type { LambdaHandler } from '#registry';
import { DEPLOYMENT_ID, lambdaContext, stateOf } from '#test/support/fixtures.ts';
import { runningDeployment } from '#test/unit/app/support.ts';

type Ports = Awaited<ReturnType<typeof runningDeployment>>['ports'];

/** Each orchestrator handler with an input its schema refuses (the state machine never sends these). */
const CASES: readonly [string, (ports: Ports) => LambdaHandler, unknown][] = [
  ['validate-spec', createValidateSpec, { spec: {}, executionName: '' }],
  ['plan-waves', createPlanWaves, { ...stateOf(), wave: -1 }],
  ['run-pre-checks', createRunPreChecks, { ...stateOf(), waitSeconds: 0 }],
  ['send-command', createSendCommand, { state: stateOf(), taskToken: 'tok', phase: 'undeploy' }],
  ['command-callback', createCommandCallback, { 'detail-type': 'EC2 Command Status-change Notification', detail: { status: 'Success' } }],
  ['evaluate-wave', createEvaluateWave, { state: { deploymentId: DEPLOYMENT_ID }, phase: 'deploy' }],
  ['check-alarms', createCheckAlarms, { deploymentId: DEPLOYMENT_ID }],
  ['finalize', createFinalize, { ...stateOf(), outcome: 'MAYBE' }],
  ['check-controls', createCheckControls, null],
  ['await-gate', createAwaitGate, { state: stateOf(), kind: 'approval' }],
  ['control-deployment', createControlDeployment, { deploymentId: DEPLOYMENT_ID, action: 'approve', by: '' }],
  ['shift-traffic', createShiftTraffic, 'not a state'],
  ['switch-back', createSwitchBack, { ...stateOf(), failed: 1.5 }],
  [
    'execution-status',
    createExecutionStatus,
    { 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: {} },
  ],
];

describe('orchestrator handlers', () => {
  it.each(CASES)('%s rejects an input its schema refuses with a ZodError, before any port is called', async (_name, create, input) => {
    const { ports } = await runningDeployment();
    const before = structuredClone(await ports.deployments.getDeployment(DEPLOYMENT_ID));

    await expect(create(ports)(input, lambdaContext)).rejects.toMatchObject({ name: 'ZodError' });

    expect(await ports.deployments.getDeployment(DEPLOYMENT_ID)).toEqual(before);
    expect(ports.audit.types(DEPLOYMENT_ID)).toEqual([]);
    expect(ports.events.log).toEqual([]);
    expect(ports.fleet.sent).toEqual([]);
    expect(ports.callbacks.answers).toEqual([]);
    expect(ports.traffic.shifts).toEqual([]);
  });
});
