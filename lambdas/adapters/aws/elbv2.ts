import {
  type Action,
  DescribeListenersCommand,
  type ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  type TargetGroupStickinessConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListenerNotFound } from '#core/errors.ts';
import { validateWeights } from '#core/traffic.ts';
import type { TargetGroupWeight, Traffic } from '#ports';

/**
 * An ALB listener's default action as a weighted forward. `shift` reads the
 * listener first: it keeps the forward's target group stickiness, and it
 * refuses a listener whose default actions include anything but a forward
 * (authenticate-oidc, redirect...), which ModifyListener would silently drop.
 */
export class ElbTraffic implements Traffic {
  constructor(private readonly elb: ElasticLoadBalancingV2Client) {}

  async weights(listenerArn: string): Promise<TargetGroupWeight[]> {
    const forward = (await this.defaultActions(listenerArn)).find((action) => action.Type === 'forward');
    if (!forward) throw new Error(`listener ${listenerArn} has no forward default action`);
    const groups = forward.ForwardConfig?.TargetGroups ?? [];
    if (groups.length > 0) {
      // ELBv2 gives a target group without a weight the weight 1.
      return groups.flatMap((g) => (g.TargetGroupArn ? [{ targetGroupArn: g.TargetGroupArn, weight: g.Weight ?? 1 }] : []));
    }
    if (forward.TargetGroupArn) return [{ targetGroupArn: forward.TargetGroupArn, weight: 1 }];
    throw new Error(`listener ${listenerArn} forwards to no target group`);
  }

  async shift(listenerArn: string, weights: readonly TargetGroupWeight[]): Promise<void> {
    validateWeights(weights);
    const actions = await this.defaultActions(listenerArn);
    const others = actions.filter((action) => action.Type !== 'forward').map((action) => action.Type);
    if (others.length > 0) {
      throw new Error(
        `listener ${listenerArn} has default actions other than forward (${others.join(', ')}); replacing them with a weighted forward would drop them`,
      );
    }
    const stickiness = stickinessOf(actions.find((action) => action.Type === 'forward'));
    await this.call(listenerArn, () =>
      this.elb.send(
        new ModifyListenerCommand({
          ListenerArn: listenerArn,
          DefaultActions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: weights.map(({ targetGroupArn, weight }) => ({ TargetGroupArn: targetGroupArn, Weight: weight })),
                ...(stickiness ? { TargetGroupStickinessConfig: stickiness } : {}),
              },
            },
          ],
        }),
      ),
    );
  }

  private async defaultActions(listenerArn: string): Promise<Action[]> {
    const { Listeners } = await this.call(listenerArn, () => this.elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })));
    const listener = Listeners?.find((l) => l.ListenerArn === listenerArn);
    if (!listener) throw new ListenerNotFound(listenerArn);
    return listener.DefaultActions ?? [];
  }

  /** Runs one SDK call, turning ELBv2's ListenerNotFoundException into ListenerNotFound. */
  private async call<T>(listenerArn: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof Error && error.name === 'ListenerNotFoundException') throw new ListenerNotFound(listenerArn, { cause: error });
      throw error;
    }
  }
}

/** The forward's stickiness, as ModifyListener takes it back. */
function stickinessOf(forward: Action | undefined): TargetGroupStickinessConfig | undefined {
  const config = forward?.ForwardConfig?.TargetGroupStickinessConfig;
  if (config?.Enabled === undefined) return undefined;
  return { Enabled: config.Enabled, ...(config.DurationSeconds === undefined ? {} : { DurationSeconds: config.DurationSeconds }) };
}
