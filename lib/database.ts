import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, type IVpc, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
} from 'aws-cdk-lib/aws-rds';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ImportedDatabaseConfig } from './config';

/** Data API actions a SQL client needs (statements and transactions); nothing else on the cluster. */
export const DATA_API_ACTIONS = [
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
];

/** Name of the database created in an owned cluster. */
export const DEFAULT_DATABASE_NAME = 'hindsight';

export interface HindsightDatabaseProps {
  /**
   * An existing Aurora cluster to use instead of creating one (no VPC is created then).
   * @default - an Aurora Serverless v2 PostgreSQL cluster is created
   */
  readonly imported?: ImportedDatabaseConfig;
  /**
   * Upper bound of the owned cluster's capacity, in Aurora capacity units. It scales to zero when idle.
   * @default 4
   */
  readonly maxCapacity?: number;
  /**
   * Retention of the VPC flow log (rejected traffic) of an owned cluster.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The PostgreSQL database behind the ledger and the stage tables, reached only through the RDS
 * Data API (HTTPS), so no Lambda runs in the VPC and the VPC needs no NAT. Either an owned Aurora
 * Serverless v2 cluster or an imported one.
 */
export class HindsightDatabase extends Construct {
  /** ARN of the cluster (`DB_CLUSTER_ARN`). */
  readonly clusterArn: string;
  /** Credentials the Data API uses on the caller's behalf (`DB_SECRET_ARN`). */
  readonly secret: ISecret;
  /** The database holding the ledger (`DB_NAME`). */
  readonly databaseName: string;
  /** The owned cluster; undefined for an imported one. */
  readonly cluster?: DatabaseCluster;
  /** The owned cluster's VPC; undefined for an imported one. */
  readonly vpc?: IVpc;

  constructor(scope: Construct, id: string, props: HindsightDatabaseProps = {}) {
    super(scope, id);
    if (props.imported) {
      this.clusterArn = props.imported.clusterArn;
      this.databaseName = props.imported.databaseName;
      this.secret = Secret.fromSecretCompleteArn(this, 'Secret', props.imported.secretArn);
      return;
    }

    const vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: {
        Rejected: {
          destination: FlowLogDestination.toCloudWatchLogs(
            new LogGroup(this, 'FlowLogs', { retention: props.logRetention ?? RetentionDays.THREE_MONTHS }),
          ),
          trafficType: FlowLogTrafficType.REJECT,
        },
      },
    });
    const cluster = new DatabaseCluster(this, 'Cluster', {
      engine: DatabaseClusterEngine.auroraPostgres({ version: AuroraPostgresEngineVersion.VER_17_7 }),
      writer: ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: 0,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      credentials: Credentials.fromGeneratedSecret('hindsight_admin'),
      defaultDatabaseName: DEFAULT_DATABASE_NAME,
      enableDataApi: true,
      iamAuthentication: true,
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      deletionProtection: true,
      backup: { retention: Duration.days(7) },
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    if (!cluster.secret) throw new Error('The cluster was created without a generated secret.');
    const generatedSecret = cluster.node.findChild('Secret');

    Validations.of(generatedSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation needs a rotation Lambda inside the VPC plus a Secrets Manager endpoint or NAT, which this ' +
        'egress-free VPC deliberately has not; only the Data API reads the secret, server side.',
    });

    this.vpc = vpc;
    this.cluster = cluster;
    this.clusterArn = cluster.clusterArn;
    this.secret = cluster.secret;
    this.databaseName = DEFAULT_DATABASE_NAME;
  }

  /** Lets `grantee` run SQL through the Data API: the statement actions on this cluster, and the secret. */
  grantDataApiAccess(grantee: IGrantable): Grant {
    if (this.cluster) return this.cluster.grantDataApiAccess(grantee);
    const statements = Grant.addToPrincipal({
      grantee,
      actions: DATA_API_ACTIONS,
      resourceArns: [this.clusterArn],
    });
    return statements.combine(this.secret.grantRead(grantee));
  }
}
