import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ROUTES } from '#core/api-contract.ts';
import { apiGatewaySchema, DeploymentsApi, type DeploymentsApiProps } from '#lib/deployments-api.ts';
import { type RegionalStack, STRATEGIES } from '#lib/regional-stack.ts';
import { ACCOUNT, actionsOf, type Json, logicalIdOf, policiesOf, REGION, regionalStack, type Statement } from '#test/infra/synth.ts';

let stack: RegionalStack;
let template: Template;

beforeAll(() => {
  ({ stack } = regionalStack());
  template = Template.fromStack(stack);
});

type Resources = Record<string, { Type: string; Properties: Record<string, Json>; DependsOn?: string[]; DeletionPolicy?: string }>;
const resources = (): Resources => template.toJSON().Resources as Resources;
const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);
const ref = (id: string) => ({ Ref: id });

/** The template's resource with this logical id (failing the test when there is none). */
function resource(id: string) {
  const found = resources()[id];
  if (!found) throw new Error(`no resource ${id} in the template`);
  return found;
}

/** The path of an API Gateway resource, read up its ParentId chain to the root. */
function resourcePath(resourceId: Json): string {
  if (resourceId && typeof resourceId === 'object' && 'Fn::GetAtt' in resourceId) return '';
  const id = (resourceId as { Ref: string }).Ref;
  const resource = resources()[id];
  if (!resource) throw new Error(`no resource ${id}`);
  return `${resourcePath(resource.Properties.ParentId as Json)}/${String(resource.Properties.PathPart)}`;
}

/** Every method of the API as `METHOD /path`, with its properties. */
function methods(): { route: string; properties: Record<string, Json> }[] {
  return ofType('AWS::ApiGateway::Method').map(([, m]) => ({
    route: `${String(m.Properties.HttpMethod)} ${resourcePath(m.Properties.ResourceId as Json) || '/'}`,
    properties: m.Properties,
  }));
}

/** For each action the API function's role allows, the resources it allows it on. */
function apiFunctionGrants(): Map<string, Json[]> {
  const role = stack.api.function.role;
  if (!role) throw new Error('the API function has no role');
  const statements: Statement[] = policiesOf(template.toJSON())
    .filter((policy) => policy.Properties.Roles.some((r) => r.Ref === logicalIdOf(role)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
  const grants = new Map<string, Json[]>();
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    for (const action of actionsOf(statement)) grants.set(action, [...(grants.get(action) ?? []), ...[statement.Resource].flat()]);
  }
  return grants;
}

/** The logical id of the request model of a method (`POST /deployments`), failing the test when it has none. */
function modelOf(route: string): string {
  const method = methods().find((m) => m.route === route);
  const models = method?.properties.RequestModels as { 'application/json'?: { Ref: string } } | undefined;
  const id = models?.['application/json']?.Ref;
  if (!id) throw new Error(`${route} has no application/json request model`);
  return id;
}

const machineRefs = () => STRATEGIES.map((strategy) => ref(logicalIdOf(stack.stateMachines[strategy])));
const tableArn = () => ({ 'Fn::GetAtt': [logicalIdOf(stack.table.table), 'Arn'] });

describe('the deployments API', () => {
  it('has exactly the routes the handler serves, each method authorized by IAM (SigV4)', () => {
    const found = methods();
    expect(found.map((m) => m.route).sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.resource}`).sort());
    for (const method of found) expect(method.properties.AuthorizationType, method.route).toBe('AWS_IAM');
  });

  it('is a regional REST API whose one stage URL is the stack output ApiUrl', () => {
    const [[apiId, api] = []] = ofType('AWS::ApiGateway::RestApi');
    expect(ofType('AWS::ApiGateway::RestApi')).toHaveLength(1);
    expect(api?.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
    const output = template.toJSON().Outputs.ApiUrl;
    expect(JSON.stringify(output.Value)).toContain(JSON.stringify(ref(apiId as string)));
    expect(stack.resolve(stack.api.url)).toEqual(output.Value);
  });

  it('checks bodies and parameters with one request validator that every method uses', () => {
    const validators = ofType('AWS::ApiGateway::RequestValidator');
    expect(validators).toHaveLength(1);
    const [[validatorId, validator] = []] = validators;
    expect(validator?.Properties).toMatchObject({ ValidateRequestBody: true, ValidateRequestParameters: true });
    for (const method of methods()) expect(method.properties.RequestValidatorId, method.route).toEqual(ref(validatorId as string));
  });

  it('validates POST /deployments against a draft-04 DeploymentSpec model that requires app, environment, version and targets', () => {
    const post = methods().find((m) => m.route === 'POST /deployments');
    const models = (post?.properties.RequestModels ?? {}) as { 'application/json'?: { Ref: string } };
    const model = resource(String(models['application/json']?.Ref));
    expect(model.Type).toBe('AWS::ApiGateway::Model');
    expect(model.Properties).toMatchObject({ ContentType: 'application/json', Name: 'DeploymentSpec' });
    const schema = model.Properties.Schema as Record<string, Json>;
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.type).toBe('object');
    expect([...(schema.required as string[])].sort()).toEqual(['app', 'environment', 'targets', 'version']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties).toMatchObject({
      deploymentId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,80}$' },
      version: { type: 'string', pattern: expect.stringMatching(/^\^/) },
    });
    // Zod's defaults and its own formats stay out: the handler applies the defaults.
    expect(JSON.stringify(schema)).not.toMatch(/"(default|format|const|\$ref|\$defs|definitions)"/);
  });

  it('validates the body of approve, reject, abort, pause and resume against the control model, an optional comment and nothing else', () => {
    const controls = methods().filter((m) => /\/(approve|reject|abort|pause|resume)$/.test(m.route));
    expect(controls).toHaveLength(5);
    const modelIds = new Set(
      controls.map((m) => (m.properties.RequestModels as { 'application/json': { Ref: string } })['application/json'].Ref),
    );
    expect(modelIds.size).toBe(1);
    const model = resources()[[...modelIds][0] as string];
    expect(model?.Properties.Schema).toEqual({
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'ControlRequest',
      type: 'object',
      properties: { comment: { type: 'string', maxLength: 1024 } },
      additionalProperties: false,
    });
  });

  it("validates the body of every POST against a model, and a manual rollback's against an optional emergency flag and nothing else", () => {
    const posts = methods().filter((m) => m.route.startsWith('POST '));
    expect(posts.map((m) => m.route).sort()).toEqual(
      API_ROUTES.filter((r) => r.method === 'POST')
        .map((r) => `POST ${r.resource}`)
        .sort(),
    );
    for (const post of posts) {
      const models = post.properties.RequestModels as { 'application/json'?: { Ref: string } } | undefined;
      const modelId = models?.['application/json']?.Ref;
      expect(modelId, post.route).toBeDefined();
      expect(resource(String(modelId)).Type, post.route).toBe('AWS::ApiGateway::Model');
    }
    expect(resource(modelOf('POST /deployments/{id}/rollback')).Properties.Schema).toEqual({
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'RollbackRequest',
      type: 'object',
      properties: { emergency: { type: 'boolean' } },
      additionalProperties: false,
    });
  });

  it('bounds every string of the DeploymentSpec model by a pattern, a list of values or a length, and every array by a count', () => {
    const unbounded: string[] = [];
    let strings = 0;
    const walk = (node: Json, at: string): void => {
      if (!node || typeof node !== 'object' || Array.isArray(node)) return;
      if (node.type === 'string') {
        strings++;
        if (node.pattern === undefined && node.enum === undefined && node.maxLength === undefined) unbounded.push(`string ${at}`);
      }
      if (node.type === 'array' && node.maxItems === undefined) unbounded.push(`array ${at}`);
      for (const [key, value] of Object.entries(node)) {
        if (key === 'properties' && value && typeof value === 'object')
          for (const [name, sub] of Object.entries(value)) walk(sub, `${at}.${name}`);
        else if (key === 'items' || key === 'additionalProperties' || key === 'not') walk(value, `${at}[]`);
        else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value))
          for (const [i, sub] of value.entries()) walk(sub, `${at}|${i}`);
      }
    };
    walk(resource(modelOf('POST /deployments')).Properties.Schema as Json, '');

    expect(unbounded).toEqual([]);
    expect(strings).toBeGreaterThan(40);
  });

  it('requires the deployment id in the path of every route that names one, and declares the optional query and header parameters', () => {
    for (const method of methods()) {
      const params = (method.properties.RequestParameters ?? {}) as Record<string, boolean>;
      expect(params['method.request.path.id'], method.route).toBe(method.route.includes('{id}') ? true : undefined);
    }
    const byRoute = Object.fromEntries(methods().map((m) => [m.route, m.properties.RequestParameters]));
    expect(byRoute['GET /deployments']).toEqual({
      'method.request.querystring.app': false,
      'method.request.querystring.env': false,
      'method.request.querystring.limit': false,
      'method.request.querystring.nextToken': false,
    });
    expect(byRoute['POST /deployments']).toEqual({ 'method.request.header.Idempotency-Key': false });
  });

  it('throttles every method of the stage, and starting a deployment more tightly, with execution logs at ERROR and no data trace', () => {
    const [[, stage] = []] = ofType('AWS::ApiGateway::Stage');
    expect(stage?.Properties.MethodSettings).toEqual(
      expect.arrayContaining([
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
        {
          HttpMethod: 'POST',
          ResourcePath: '/~1deployments',
          ThrottlingRateLimit: 2,
          ThrottlingBurstLimit: 5,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
      ]),
    );
    expect(stage?.Properties.MethodSettings).toHaveLength(2);
  });

  it('writes JSON access logs with the caller to a retained log group, and traces requests with X-Ray', () => {
    const [[, stage] = []] = ofType('AWS::ApiGateway::Stage');
    expect(stage?.Properties.TracingEnabled).toBe(true);
    const setting = stage?.Properties.AccessLogSetting as { DestinationArn: Json; Format: string };
    expect(setting.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.api.accessLogs), 'Arn'] });
    expect(JSON.parse(setting.Format)).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.caller',
      status: '$context.status',
    });
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 365 } });
  });

  it("answers API Gateway's own refusals (validation, authorization, throttling) as JSON in the handler's error shape", () => {
    const templates = Object.fromEntries(
      ofType('AWS::ApiGateway::GatewayResponse').map(([, r]) => [
        r.Properties.ResponseType,
        (r.Properties.ResponseTemplates as Record<string, string>)['application/json'],
      ]),
    );
    expect(Object.keys(templates).sort()).toEqual(['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS', 'DEFAULT_4XX', 'DEFAULT_5XX']);
    const sample = (text: string | undefined) =>
      JSON.parse(String(text).replace('$context.error.responseType', 'ACCESS_DENIED').replace('$context.error.messageString', '"denied"'));
    expect(sample(templates.DEFAULT_4XX)).toEqual({ error: 'ACCESS_DENIED', message: 'denied' });
    expect(sample(templates.BAD_REQUEST_BODY)).toEqual({ error: 'BadRequest', message: 'denied' });
  });
});

describe('the API function', () => {
  it('runs the API entry on Node.js 22 with the table and every strategy state machine in its environment', () => {
    const fn = resource(logicalIdOf(stack.api.function));
    const variables = (fn.Properties.Environment as { Variables: Record<string, Json> }).Variables;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Timeout: 29, TracingConfig: { Mode: 'Active' } });
    expect(variables.TABLE_NAME).toEqual(ref(logicalIdOf(stack.table.table)));
    // The JSON map, with each state machine's Ref standing in for its ARN.
    const join = (variables.STATE_MACHINE_ARNS as { 'Fn::Join': [string, Json[]] })['Fn::Join'];
    const rendered = join[1].map((part) => (typeof part === 'string' ? part : `REF:${(part as { Ref: string }).Ref}`)).join(join[0]);
    expect(JSON.parse(rendered)).toEqual(
      Object.fromEntries(STRATEGIES.map((strategy) => [strategy, `REF:${logicalIdOf(stack.stateMachines[strategy])}`])),
    );
  });

  it('may get, query, put and update items of the deployment table and query its listing index, and nothing else in DynamoDB', () => {
    const grants = apiFunctionGrants();
    const dynamo = [...grants.keys()].filter((a) => a.startsWith('dynamodb:')).sort();
    expect(dynamo).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'])
      expect(grants.get(action), action).toEqual([tableArn()]);
    expect(grants.get('dynamodb:Query')).toEqual(
      expect.arrayContaining([tableArn(), { 'Fn::Join': ['', [tableArn(), '/index/byCreatedAt']] }]),
    );
    expect(grants.get('dynamodb:Query')).toHaveLength(2);
  });

  it('may start the five state machines and answer their task tokens, and nothing else in Step Functions', () => {
    const grants = apiFunctionGrants();
    const states = [...grants.keys()].filter((a) => a.startsWith('states:')).sort();
    expect(states).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess', 'states:StartExecution']);
    for (const action of states) expect(grants.get(action), action).toEqual(machineRefs());
  });

  it('is granted Resource "*" only for X-Ray, and otherwise only its own log group', () => {
    const grants = apiFunctionGrants();
    const wildcard = [...grants.entries()].filter(([, resources]) => resources.includes('*')).map(([action]) => action);
    expect(wildcard.sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const services = new Set([...grants.keys()].map((a) => a.split(':')[0]));
    expect([...services].sort()).toEqual(['dynamodb', 'logs', 'states', 'xray']);
    expect(grants.get('logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logicalIdOf(stack.api.function.logGroup), 'Arn'] }]);
  });

  it('is invoked by API Gateway through one permission scoped to this API', () => {
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(permissions).toHaveLength(1);
    const [[, permission] = []] = permissions;
    const [[apiId] = []] = ofType('AWS::ApiGateway::RestApi');
    expect(permission?.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalIdOf(stack.api.function), 'Arn'] },
      SourceArn: {
        'Fn::Join': ['', ['arn:', ref('AWS::Partition'), `:execute-api:${REGION}:${ACCOUNT}:`, ref(apiId as string), '/*/*/*']],
      },
    });
  });
});

describe("the account's API Gateway CloudWatch Logs role", () => {
  it('is set from a role with an inline policy (no managed policy) on this account and region, kept when the stack goes', () => {
    if (!stack.api.cloudWatchRole) throw new Error('the regional stack sets the account CloudWatch Logs role');
    const roleId = logicalIdOf(stack.api.cloudWatchRole);
    const role = resource(roleId);
    expect(role.DeletionPolicy).toBe('Retain');
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } }],
    });
    const [policy] = role.Properties.Policies as unknown as { PolicyDocument: { Statement: Statement[] } }[];
    expect(policy?.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: expect.arrayContaining(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']),
        Resource: { 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), `:logs:${REGION}:${ACCOUNT}:log-group:*`]] },
      },
    ]);
    template.hasResource('AWS::ApiGateway::Account', {
      DeletionPolicy: 'Retain',
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } },
    });
  });

  it('is in place before the stage that logs through it', () => {
    const [[accountId] = []] = ofType('AWS::ApiGateway::Account');
    const [[, stage] = []] = ofType('AWS::ApiGateway::Stage');
    expect(stage?.DependsOn).toContain(accountId);
  });
});

describe('DeploymentsApi on its own', () => {
  function standalone(props: Partial<DeploymentsApiProps> = {}) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const scope = new Stack(app, 'Standalone', { env: { account: ACCOUNT, region: REGION } });
    const table = new dynamodb.TableV2(scope, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const machine = new sfn.StateMachine(scope, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(scope, 'Pass')),
    });
    return () => new DeploymentsApi(scope, 'Api', { table, stateMachines: { rolling: machine }, ...props });
  }

  it('leaves the account CloudWatch Logs setting alone when told to', () => {
    const api = standalone({ accountCloudWatchRole: false })();
    const t = Template.fromStack(Stack.of(api));
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(api.cloudWatchRole).toBeUndefined();
    t.resourceCountIs('AWS::IAM::Role', 2);
  });

  it('takes other throttling limits', () => {
    const api = standalone({ throttling: { rateLimit: 5, burstLimit: 10 }, startThrottling: { rateLimit: 1, burstLimit: 1 } })();
    Template.fromStack(Stack.of(api)).hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ResourcePath: '/*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }),
        Match.objectLike({ ResourcePath: '/~1deployments', ThrottlingRateLimit: 1, ThrottlingBurstLimit: 1 }),
      ]),
    });
  });

  it('refuses throttling that would let nothing through, and an API with no state machine', () => {
    expect(standalone({ throttling: { rateLimit: 0, burstLimit: 10 } })).toThrow(/throttling needs a positive rateLimit/);
    expect(standalone({ startThrottling: { rateLimit: 1, burstLimit: 0 } })).toThrow(/startThrottling needs a positive rateLimit/);
    expect(standalone({ stateMachines: {} })).toThrow(/stateMachines must name at least one/);
  });
});

describe('apiGatewaySchema', () => {
  it('turns a zod schema into a draft-04 model schema without defaults or zod formats, with fields that have defaults optional', () => {
    const schema = apiGatewaySchema(
      z.object({ arn: z.string().startsWith('arn:'), mode: z.literal('fast'), size: z.number().gt(0).default(3) }).strict(),
    );
    expect(schema).toEqual({
      schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      properties: {
        arn: { type: 'string', pattern: '^arn:.*' },
        mode: { type: 'string', enum: ['fast'] },
        size: { type: 'number', minimum: 0, exclusiveMinimum: true },
      },
      required: ['arn', 'mode'],
      additionalProperties: false,
    });
  });

  it('refuses a schema that needs a keyword API Gateway models lack', () => {
    expect(() => apiGatewaySchema(z.object({ pair: z.tuple([z.string(), z.number()]) }))).toThrow(
      /keyword .* has no place in an API Gateway/,
    );
  });
});
