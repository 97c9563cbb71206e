import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTIONS, type FunctionName, type FunctionSpec } from '#registry';
import { entryFile, LAZY_CREDENTIAL_MODULES, PROJECT_ROOT } from './function-entry.ts';

export interface OrchestratorFunctionProps {
  /** The function's registry entry (lambdas/registry.ts): its entry, description, timeout and memory. */
  readonly name: FunctionName;
  /** Environment variables besides the Powertools ones. */
  readonly environment?: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A function of the registry with the house defaults: Node 22 on ARM64, tracing, its own log
 * group, source maps, ESM bundle of its entry (which wires only the adapters of its ports).
 */
export class OrchestratorFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** Its registry name (test/infra/iam-coverage.test.ts compares its calls with the registry's). */
  public readonly name: FunctionName;
  /** The entry file the function is bundled from (what test/infra/iam-coverage.test.ts reads its calls from). */
  public readonly entry: string;

  constructor(scope: Construct, id: string, props: OrchestratorFunctionProps) {
    super(scope, id);
    const spec: FunctionSpec = FUNCTIONS[props.name];
    this.name = props.name;
    this.entry = entryFile(props.name);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Instead of AWSLambdaBasicExecutionRole (create and write any log group): write to this function's own group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: spec.description,
    });
    this.logGroup.grants.write(role);
    this.function = new NodejsFunction(this, 'Function', {
      role,
      entry: this.entry,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMB ?? 512,
      timeout: Duration.seconds(spec.timeoutSeconds ?? 60),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'deployctl',
        POWERTOOLS_METRICS_NAMESPACE: 'Deployctl',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        sourceMap: true,
        // Stack traces are mapped from the mappings alone; without the sources' text the map is about a third
        // the size, and Node (NODE_OPTIONS above) reads it at every cold start.
        sourcesContent: false,
        minify: true,
        mainFields: ['module', 'main'],
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // The SDK is bundled (the version the lock file pins), but for the credential sources Lambda never uses.
        // This departs from NodejsFunction's default for Node.js 18+ runtimes, `externalModules: ['@aws-sdk/*']`
        // (aws-cdk-lib/aws-lambda-nodejs BundlingOptions.externalModules; with the feature flag
        // `@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages`, '@smithy/*' too), which relies on the SDK v3
        // that the nodejs22.x runtime includes (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html,
        // "Runtime-included SDK versions"). Measured with `npx tsx bench/bundles.ts --sdk-external` (the SDK
        // loaded from node_modules, as the runtime loads its own), on 2026-12-04: bundles shrink from 477-661 KB
        // to 264-365 KB, but the cold import grows from 77-104 ms to 117-185 ms, since Node then loads dozens of
        // SDK packages file by file instead of one minified file; and the runtime's SDK is not the version we test.
        externalModules: [...LAZY_CREDENTIAL_MODULES],
      },
    });
  }
}
