import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ElbTraffic } from '#adapters/aws/elbv2.ts';
import type { Traffic } from '#ports';
import { CLIENT_CONFIG, traced } from './client.ts';

/** The `traffic` port: ALB listener weights. */
export const traffic: Traffic = new ElbTraffic(traced(new ElasticLoadBalancingV2Client(CLIENT_CONFIG)));
