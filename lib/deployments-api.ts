import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { API_ROUTES, type ApiRoute, ControlBody, modelSchema, RollbackBody } from '#core/api-contract.ts';
import { LISTING_INDEX } from '#core/records.ts';
import { DeploymentSpec } from '#core/spec.ts';
import { FUNCTIONS } from '#registry';
import { grantTableCalls } from './deployment-table.ts';
import { OrchestratorFunction } from './orchestrator-function.ts';

/** Requests per second (steady) and burst that API Gateway lets through before answering 429. */
export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface DeploymentsApiProps {
  /** The deployment table. */
  readonly table: dynamodb.ITableV2;
  /** Each strategy's state machine, by the spec's `strategy.type`. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /**
   * Every method's throttling.
   * @default 20 requests per second, bursts of 40
   */
  readonly throttling?: ThrottleLimits;
  /**
   * POST /deployments' own throttling: each start runs a state machine.
   * @default 2 requests per second, bursts of 5
   */
  readonly startThrottling?: ThrottleLimits;
  /** @default 'v1' */
  readonly stageName?: string;
  /**
   * Create the role API Gateway writes execution and access logs with, and
   * set it as this account and region's API Gateway CloudWatch Logs role (an
   * account-wide setting, kept when the stack is deleted). Turn off when the
   * account already has one.
   * @default true
   */
  readonly accountCloudWatchRole?: boolean;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly accessLogRetention?: logs.RetentionDays;
}

/** The actions of the AmazonAPIGatewayPushToCloudWatchLogs managed policy, granted inline instead. */
const PUSH_TO_CLOUDWATCH_LOGS = [
  'logs:CreateLogGroup',
  'logs:CreateLogStream',
  'logs:DescribeLogGroups',
  'logs:DescribeLogStreams',
  'logs:PutLogEvents',
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
];

/**
 * The deployments HTTP API: API Gateway (REST, regional) with IAM (SigV4)
 * authorization on every method, request models checked by a request
 * validator, one Lambda function (the handler in lambdas/handlers/api.ts) behind
 * every route, access logs as JSON, execution logs at ERROR and throttling.
 */
export class DeploymentsApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly function: NodejsFunction;
  public readonly accessLogs: logs.LogGroup;
  public readonly requestValidator: apigateway.RequestValidator;
  /** The DeploymentSpec model of POST /deployments, generated from the zod schema. */
  public readonly specModel: apigateway.Model;
  /** The `{comment}` model of the controls. */
  public readonly controlModel: apigateway.Model;
  /** The `{emergency}` model of a manual rollback. */
  public readonly rollbackModel: apigateway.Model;
  /** The role API Gateway writes logs with, when this construct sets it (accountCloudWatchRole). */
  public readonly cloudWatchRole?: iam.Role;

  constructor(scope: Construct, id: string, props: DeploymentsApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? { rateLimit: 20, burstLimit: 40 };
    const startThrottling = props.startThrottling ?? { rateLimit: 2, burstLimit: 5 };
    checkThrottle(id, 'throttling', throttling);
    checkThrottle(id, 'startThrottling', startThrottling);
    const machines = Object.entries(props.stateMachines);
    if (machines.length === 0) throw new Error(`DeploymentsApi ${id}: stateMachines must name at least one strategy's state machine`);
    const stack = Stack.of(this);

    this.function = new OrchestratorFunction(this, 'Handler', {
      name: 'api',
      environment: {
        TABLE_NAME: props.table.tableName,
        STATE_MACHINE_ARNS: stack.toJsonString(
          Object.fromEntries(machines.map(([strategy, machine]) => [strategy, machine.stateMachineArn])),
        ),
      },
    }).function;
    this.grantServiceCalls(props);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logging = { loggingLevel: apigateway.MethodLoggingLevel.ERROR, dataTraceEnabled: false, metricsEnabled: true };
    this.api = new apigateway.RestApi(this, 'RestApi', {
      restApiName: `${stack.stackName}-deployments`,
      description: 'deployctl: start, follow and steer fleet deployments (IAM SigV4 authorization)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // The managed-policy role of `cloudWatchRole: true` is replaced by an inline-policy one below.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: props.stageName ?? 'v1',
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        tracingEnabled: true,
        ...logging,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        methodOptions: {
          '/deployments/POST': {
            ...logging,
            throttlingRateLimit: startThrottling.rateLimit,
            throttlingBurstLimit: startThrottling.burstLimit,
          },
        },
      },
    });
    if (props.accountCloudWatchRole ?? true) this.cloudWatchRole = this.setAccountCloudWatchRole();

    // API Gateway's own refusals (validation, authorization, throttling) in the handler's error shape.
    const errorBody = '{"error":"$context.error.responseType","message":$context.error.messageString}';
    this.api.addGatewayResponse('Default4xx', { type: apigateway.ResponseType.DEFAULT_4XX, templates: { 'application/json': errorBody } });
    this.api.addGatewayResponse('Default5xx', { type: apigateway.ResponseType.DEFAULT_5XX, templates: { 'application/json': errorBody } });
    const badRequest = '{"error":"BadRequest","message":$context.error.messageString}';
    for (const type of [apigateway.ResponseType.BAD_REQUEST_BODY, apigateway.ResponseType.BAD_REQUEST_PARAMETERS]) {
      this.api.addGatewayResponse(type.responseType === 'BAD_REQUEST_BODY' ? 'BadRequestBody' : 'BadRequestParameters', {
        type,
        templates: { 'application/json': badRequest },
      });
    }

    this.requestValidator = this.api.addRequestValidator('Validator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.specModel = this.api.addModel('DeploymentSpecModel', {
      contentType: 'application/json',
      modelName: 'DeploymentSpec',
      description: 'A deployment spec (lambdas/core/spec.ts); the handler checks it again, with field-level errors',
      schema: { ...apiGatewaySchema(DeploymentSpec), title: 'DeploymentSpec' },
    });
    this.controlModel = this.api.addModel('ControlModel', {
      contentType: 'application/json',
      modelName: 'ControlRequest',
      description: 'approve, reject, abort, pause, resume: an optional comment for the audit trail',
      schema: { ...apiGatewaySchema(ControlBody), title: 'ControlRequest' },
    });
    this.rollbackModel = this.api.addModel('RollbackModel', {
      contentType: 'application/json',
      modelName: 'RollbackRequest',
      description: 'a manual rollback: emergency (every host at once, no approval, bake, alarm gate or window) or not',
      schema: { ...apiGatewaySchema(RollbackBody), title: 'RollbackRequest' },
    });

    // One permission for the whole API instead of two per method.
    const integration = new apigateway.LambdaIntegration(this.function, { proxy: true, scopePermissionToMethod: false });
    for (const route of API_ROUTES) {
      this.api.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: this.requestValidator,
        requestParameters: requestParameters(route),
        ...(requestModel(route, { start: this.specModel, control: this.controlModel, rollback: this.rollbackModel }) ?? {}),
      });
    }
  }

  /** The stage's URL, ending with a slash. */
  get url(): string {
    return this.api.url;
  }

  /** Exactly the calls the registry lists for the API function (lambdas/registry.ts). */
  private grantServiceCalls(props: DeploymentsApiProps): void {
    const fn = this.function;
    const { calls } = FUNCTIONS.api;
    grantTableCalls(props.table, fn, calls.table);
    grantTableCalls(props.table, fn, calls.index, { index: LISTING_INDEX });
    const machineArns = Object.values(props.stateMachines).map((m) => m.stateMachineArn);
    const starts = calls.services.filter((call) => call === 'states:StartExecution');
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: starts, resources: machineArns }));
    const taskResponses = calls.services.filter((call) => call.startsWith('states:SendTask'));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: taskResponses, resources: machineArns }));
  }

  private setAccountCloudWatchRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: "API Gateway's CloudWatch Logs role for this account and region (execution and access logs)",
      inlinePolicies: {
        PushToCloudWatchLogs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: PUSH_TO_CLOUDWATCH_LOGS,
              resources: [
                Arn.format({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack),
              ],
            }),
          ],
        }),
      },
    });
    // Other APIs of the account log through this setting too: deleting the stack must not take it away.
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.api.deploymentStage.node.addDependency(account);
    return role;
  }
}

function checkThrottle(id: string, name: string, limits: ThrottleLimits): void {
  if (!Number.isFinite(limits.rateLimit) || limits.rateLimit <= 0 || !Number.isInteger(limits.burstLimit) || limits.burstLimit < 1) {
    throw new Error(`DeploymentsApi ${id}: ${name} needs a positive rateLimit and a burstLimit of at least 1`);
  }
}

function requestParameters(route: ApiRoute): Record<string, boolean> {
  const params: Record<string, boolean> = {};
  if (route.resource.includes('{id}')) params['method.request.path.id'] = true;
  if (route.operation === 'start' || route.operation === 'rollback') params['method.request.header.Idempotency-Key'] = false;
  // All optional: app and env together ask for a history, neither for every deployment (the handler names a missing one).
  if (route.operation === 'list')
    for (const name of ['app', 'env', 'limit', 'nextToken']) params[`method.request.querystring.${name}`] = false;
  return params;
}

/** The model a route's body is checked against: every POST has one. */
function requestModel(route: ApiRoute, models: Readonly<Record<'start' | 'control' | 'rollback', apigateway.IModel>>) {
  if (route.method !== 'POST') return undefined;
  if (route.operation !== 'start' && route.operation !== 'control' && route.operation !== 'rollback') {
    throw new Error(`DeploymentsApi: POST ${route.resource} has no request model`);
  }
  return { requestModels: { 'application/json': models[route.operation] } };
}

/**
 * The API Gateway model schema of a body: the contract's draft-04 JSON Schema
 * (lambdas/core/api-contract.ts) in the construct library's spelling.
 */
export function apiGatewaySchema(schema: z.ZodType): apigateway.JsonSchema {
  const { $schema: _draft, ...rest } = modelSchema(schema);
  return { schema: apigateway.JsonSchemaVersion.DRAFT4, ...(rest as apigateway.JsonSchema) };
}
