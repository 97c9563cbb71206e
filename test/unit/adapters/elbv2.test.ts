import {
  type Action,
  DescribeListenersCommand,
  ElasticLoadBalancingV2Client,
  ListenerNotFoundException,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ElbTraffic } from '#adapters/aws/elbv2.ts';
import { InvalidWeights, ListenerNotFound } from '#core/errors.ts';

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/73e2d6bc24d8a067';
const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/2453ed029918f21f';

/** DescribeListeners' answer for the listener with these default actions. */
function listenerWith(DefaultActions: Action[]) {
  return { Listeners: [{ ListenerArn: LISTENER, Protocol: 'HTTPS' as const, Port: 443, DefaultActions }] };
}

describe('ElbTraffic', () => {
  const elb = mockClient(ElasticLoadBalancingV2Client);
  const traffic = new ElbTraffic(new ElasticLoadBalancingV2Client({}));

  beforeEach(() => {
    elb.reset();
    elb.on(ModifyListenerCommand).resolves({});
  });

  it('reads the weights of the listener default weighted forward action', async () => {
    elb.on(DescribeListenersCommand).resolves(
      listenerWith([
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE, Weight: 90 },
              { TargetGroupArn: GREEN, Weight: 10 },
            ],
            TargetGroupStickinessConfig: { Enabled: false },
          },
        },
      ]),
    );

    expect(await traffic.weights(LISTENER)).toEqual([
      { targetGroupArn: BLUE, weight: 90 },
      { targetGroupArn: GREEN, weight: 10 },
    ]);
    expect(elb).toReceiveCommandExactlyOnceWith(DescribeListenersCommand, { ListenerArns: [LISTENER] });
  });

  it('reads a plain forward to one target group as weight 1 for that group', async () => {
    elb.on(DescribeListenersCommand).resolves(listenerWith([{ Type: 'forward', TargetGroupArn: BLUE }]));

    expect(await traffic.weights(LISTENER)).toEqual([{ targetGroupArn: BLUE, weight: 1 }]);
  });

  it('refuses to read weights from a listener whose default action does not forward', async () => {
    elb
      .on(DescribeListenersCommand)
      .resolves(listenerWith([{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }]));

    await expect(traffic.weights(LISTENER)).rejects.toThrow(`listener ${LISTENER} has no forward default action`);
  });

  it('shifts 10 percent of the traffic to green with one weighted forward action', async () => {
    elb.on(DescribeListenersCommand).resolves(listenerWith([{ Type: 'forward', TargetGroupArn: BLUE }]));

    await traffic.shift(LISTENER, [
      { targetGroupArn: BLUE, weight: 90 },
      { targetGroupArn: GREEN, weight: 10 },
    ]);

    expect(elb).toReceiveCommandExactlyOnceWith(ModifyListenerCommand, {
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE, Weight: 90 },
              { TargetGroupArn: GREEN, Weight: 10 },
            ],
          },
        },
      ],
    });
    // The input is exactly this: no stickiness was configured, so none is sent.
    expect(elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input).toStrictEqual({
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE, Weight: 90 },
              { TargetGroupArn: GREEN, Weight: 10 },
            ],
          },
        },
      ],
    });
  });

  it('switches all the traffic back to blue and keeps the target group stickiness', async () => {
    elb.on(DescribeListenersCommand).resolves(
      listenerWith([
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE, Weight: 50 },
              { TargetGroupArn: GREEN, Weight: 50 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
          },
        },
      ]),
    );

    await traffic.shift(LISTENER, [
      { targetGroupArn: BLUE, weight: 100 },
      { targetGroupArn: GREEN, weight: 0 },
    ]);

    expect(elb.commandCalls(ModifyListenerCommand)[0]?.args[0].input).toStrictEqual({
      ListenerArn: LISTENER,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: BLUE, Weight: 100 },
              { TargetGroupArn: GREEN, Weight: 0 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
          },
        },
      ],
    });
  });

  it('refuses to shift a listener whose other default actions ModifyListener would drop', async () => {
    elb.on(DescribeListenersCommand).resolves(
      listenerWith([
        {
          Type: 'authenticate-cognito',
          Order: 1,
          AuthenticateCognitoConfig: { UserPoolArn: 'arn:pool', UserPoolClientId: 'c', UserPoolDomain: 'd' },
        },
        { Type: 'forward', Order: 2, TargetGroupArn: BLUE },
      ]),
    );

    await expect(traffic.shift(LISTENER, [{ targetGroupArn: GREEN, weight: 1 }])).rejects.toThrow(
      /has default actions other than forward \(authenticate-cognito\)/,
    );
    expect(elb).toReceiveCommandTimes(ModifyListenerCommand, 0);
  });

  it('reports a missing listener as ListenerNotFound with the SDK error as its cause', async () => {
    const missing = new ListenerNotFoundException({ message: 'One or more listeners not found', $metadata: {} });
    elb.on(DescribeListenersCommand).rejects(missing);

    const error = await traffic.weights(LISTENER).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ListenerNotFound);
    expect(error).toMatchObject({ name: 'ListenerNotFound', listenerArn: LISTENER, cause: missing });
    await expect(traffic.shift(LISTENER, [{ targetGroupArn: GREEN, weight: 1 }])).rejects.toThrow(ListenerNotFound);
    expect(elb).toReceiveCommandTimes(ModifyListenerCommand, 0);
  });

  it('reports a listener deleted between the read and the shift as ListenerNotFound', async () => {
    elb.on(DescribeListenersCommand).resolves(listenerWith([{ Type: 'forward', TargetGroupArn: BLUE }]));
    elb.on(ModifyListenerCommand).rejects(new ListenerNotFoundException({ message: 'Listener not found', $metadata: {} }));

    await expect(traffic.shift(LISTENER, [{ targetGroupArn: GREEN, weight: 1 }])).rejects.toMatchObject({ name: 'ListenerNotFound' });
  });

  it('reports an answer without the listener as ListenerNotFound', async () => {
    elb.on(DescribeListenersCommand).resolves({ Listeners: [] });

    await expect(traffic.weights(LISTENER)).rejects.toThrow(`listener ${LISTENER} does not exist`);
  });

  it.each([
    ['a weight above 999', [{ targetGroupArn: BLUE, weight: 1000 }]],
    [
      'a negative weight',
      [
        { targetGroupArn: BLUE, weight: 100 },
        { targetGroupArn: GREEN, weight: -1 },
      ],
    ],
    [
      'a fractional weight',
      [
        { targetGroupArn: BLUE, weight: 87.5 },
        { targetGroupArn: GREEN, weight: 12.5 },
      ],
    ],
    ['no target group', []],
  ])('refuses %s without calling ELBv2', async (_, weights) => {
    await expect(traffic.shift(LISTENER, weights)).rejects.toThrow(InvalidWeights);
    expect(elb.calls()).toHaveLength(0);
  });
});
