import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Reading the one lease record: a strongly consistent `GetItem`. */
export const LEASE_READ_ACTIONS = ['dynamodb:GetItem'];
/** Changing it: one conditional `PutItem` of the whole record (no transactions, so dynalite works too). */
export const LEASE_WRITE_ACTIONS = ['dynamodb:PutItem'];

/**
 * The DynamoDB table holding the one lease record that keeps the daily run and a backfill from
 * interleaving. Single conditional writes only, so it works the same on dynalite locally.
 */
export class LeaseTable extends Construct {
  /** The table; its partition key is the string attribute `pk`. */
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      // The record holds the last fencing token: losing it would let a token be reused.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Name of the table (`LEASE_TABLE_NAME`). */
  get tableName(): string {
    return this.table.tableName;
  }

  /** Lets `grantee` read and conditionally write the lease record (`GetItem`, `PutItem`: all the lease store does). */
  grantReadWrite(grantee: IGrantable): Grant {
    return this.table.grant(grantee, ...LEASE_READ_ACTIONS, ...LEASE_WRITE_ACTIONS);
  }

  /** Lets `grantee` read the lease record. */
  grantRead(grantee: IGrantable): Grant {
    return this.table.grant(grantee, ...LEASE_READ_ACTIONS);
  }
}
