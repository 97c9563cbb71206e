import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LISTING_INDEX } from '#core/records.ts';
import type { TableCall } from '#registry';

export interface DeploymentTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A customer managed KMS key to encrypt the table with. The functions that
   * read or write records are granted its use; the key's policy must let the
   * account's IAM policies grant it (the default key policy does).
   * @default the AWS managed key for DynamoDB (alias/aws/dynamodb)
   */
  readonly encryptionKey?: kms.IKey;
}

const WRITES: ReadonlySet<TableCall> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/**
 * KMS actions DynamoDB needs from the caller's own permissions when the
 * table's key is customer managed (`kms:ViaService` dynamodb): reading
 * decrypts the table key, writing also encrypts under it. These are the read
 * and write key actions aws-cdk-lib grants for a table, without its wildcards.
 */
export const TABLE_KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'] as const;
export const TABLE_KEY_WRITE = ['kms:Encrypt', 'kms:GenerateDataKey'] as const;

/**
 * Grants exactly `calls` on the table (or, with `index`, on that index only)
 * and, when the table has a customer managed key, the use of that key the
 * calls need.
 */
export function grantTableCalls(
  table: dynamodb.ITableV2,
  grantee: iam.IGrantable,
  calls: readonly TableCall[],
  options: { readonly index?: string } = {},
): void {
  if (calls.length === 0) return;
  const resource = options.index === undefined ? table.tableArn : `${table.tableArn}/index/${options.index}`;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: [...new Set(calls)].map((call) => `dynamodb:${call}`), resources: [resource] }),
  );
  if (table.encryptionKey) {
    const actions = calls.some((call) => WRITES.has(call)) ? [...TABLE_KEY_READ, ...TABLE_KEY_WRITE] : [...TABLE_KEY_READ];
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [table.encryptionKey.keyArn] }));
  }
}

/**
 * The customer managed key named by `tableKeyArn` (context or props), checked:
 * a key of this stack's region (DynamoDB uses a key of the table's own region).
 */
export function tableKeyFromArn(scope: Construct, id: string, arn: string): kms.IKey {
  const match = /^arn:aws[\w-]*:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/.exec(arn);
  if (!match)
    throw new Error(`tableKeyArn: '${arn}' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; an alias will not do)`);
  const region = Stack.of(scope).region;
  if (!Token.isUnresolved(region) && match[1] !== region)
    throw new Error(`tableKeyArn: the key is in ${match[1]}, but the table is in ${region}; give a key of ${region}`);
  return kms.Key.fromKeyArn(scope, id, arn);
}

/** The one table: deployments, waves, hosts, audit events, locks, releases, command tokens. */
export class DeploymentTable extends Construct {
  public readonly table: dynamodb.TableV2;
  /** The customer managed key, when one was given. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: DeploymentTableProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      encryption: props.encryptionKey
        ? dynamodb.TableEncryptionV2.customerManagedKey(props.encryptionKey)
        : dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: 'ttl',
      // Lists every deployment newest first (`deployctl list`); only META records carry its keys.
      globalSecondaryIndexes: [
        {
          indexName: LISTING_INDEX,
          partitionKey: { name: 'kind', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
        },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
