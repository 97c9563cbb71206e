import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { tracer } from '../../commons/powertools.ts';
import type { Deps } from '../../handlers/deps.ts';
import { systemClock } from '../../ports.ts';
import { CloudWatchAlarms } from './cloudwatch.ts';
import { ElbTraffic } from './elbv2.ts';
import { EventBridgeEvents } from './eventbridge.ts';
import { dynamoRecords } from './records/index.ts';
import { SfnCallbacks } from './sfn.ts';
import { SsmFleet, SsmInventory } from './ssm.ts';

/** The Lambda's configuration, read once and checked: a missing variable fails at cold start. */
export const Config = z.object({
  TABLE_NAME: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1).default('default'),
});

/** Adaptive retry mode: throttled SDK calls back off with jitter. */
const clientConfig = { retryMode: 'adaptive', maxAttempts: 8 } as const;

/** The AWS adapters, with clients traced by Powertools. Call once, at module scope. */
export function awsDeps(env: NodeJS.ProcessEnv = process.env): Deps {
  const config = Config.parse(env);
  const ssm = tracer.captureAWSv3Client(new SSMClient(clientConfig));
  const db = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  return {
    ...dynamoRecords(db, config.TABLE_NAME),
    fleet: new SsmFleet(ssm),
    inventory: new SsmInventory(ssm),
    alarms: new CloudWatchAlarms(tracer.captureAWSv3Client(new CloudWatchClient(clientConfig))),
    callbacks: new SfnCallbacks(tracer.captureAWSv3Client(new SFNClient(clientConfig))),
    events: new EventBridgeEvents(tracer.captureAWSv3Client(new EventBridgeClient(clientConfig)), config.EVENT_BUS_NAME),
    traffic: new ElbTraffic(tracer.captureAWSv3Client(new ElasticLoadBalancingV2Client(clientConfig))),
    clock: systemClock,
  };
}
