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
  DatabaseSecret,
} from 'aws-cdk-lib/aws-rds';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PIPELINE_ROLE_USERNAME } from '../lambdas/ledger/pipeline-role';
import { CONTEXT_KEYS, type ImportedDatabaseConfig } from './config';

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

/** The synth warning of an existing cluster given no pipeline secret: every function uses the master secret. */
export const SHARED_SECRET_WARNING = 'hindsight:SharedDatabaseSecret';

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
 *
 * Two logins: the master user's, which only the after-deploy function uses (migrations, and the
 * pipeline role's grants), and the pipeline role's (`hindsight_pipeline` on an owned cluster), with
 * row access to the tables and no DDL, which every function's SQL runs as. An imported cluster
 * given no pipeline secret runs everything with its master secret, and synth warns about it.
 */
export class HindsightDatabase extends Construct {
  /** ARN of the cluster (`DB_CLUSTER_ARN`). */
  readonly clusterArn: string;
  /**
   * The credentials every function's Data API calls use (`DB_SECRET_ARN`): the pipeline role's,
   * or the master's on an imported cluster given no pipeline secret.
   */
  readonly secret: ISecret;
  /** The master user's credentials: migrations and grants, by the after-deploy function alone. */
  readonly masterSecret: ISecret;
  /** The pipeline role's credentials; undefined for an imported cluster given none. */
  readonly pipelineSecret?: ISecret;
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
      this.masterSecret = Secret.fromSecretCompleteArn(this, 'Secret', props.imported.secretArn);
      if (props.imported.pipelineSecretArn !== undefined) {
        this.pipelineSecret = Secret.fromSecretCompleteArn(
          this,
          'PipelineSecret',
          props.imported.pipelineSecretArn,
        );
      } else {
        Validations.of(this).addWarning(
          SHARED_SECRET_WARNING,
          `Every function runs its SQL with the secret of ${CONTEXT_KEYS.secretArn}, so every function's ` +
            'role can read it and every stage could create, alter or drop tables. Set ' +
            `${CONTEXT_KEYS.pipelineSecretArn} to a secret of {"username", "password"} for a role of ` +
            'its own: the after-deploy function creates that role (or updates it), grants it row access ' +
            'to the tables after each migration, and only it reads the master secret then.',
        );
      }
      this.secret = this.pipelineSecret ?? this.masterSecret;
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
    // Its password is generated; the after-deploy function gives it to the role.
    const pipelineSecret = new DatabaseSecret(this, 'PipelineSecret', { username: PIPELINE_ROLE_USERNAME });

    const noRotation =
      'Not rotated: rotation needs a rotation Lambda inside the VPC plus a Secrets Manager endpoint or ' +
      'NAT, which this egress-free VPC deliberately has not.';
    Validations.of(generatedSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `${noRotation} The master user's secret: only the after-deploy function's role may read it ` +
        '(GetSecretValue, for its Data API calls that migrate and grant the pipeline role).',
    });
    Validations.of(pipelineSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `${noRotation} The ${PIPELINE_ROLE_USERNAME} role's secret (rows of the tables, no DDL): the role of ` +
        'every function that runs SQL may read it for its Data API calls; the after-deploy function also ' +
        "sets the role's password from it on each deploy.",
    });

    this.vpc = vpc;
    this.cluster = cluster;
    this.clusterArn = cluster.clusterArn;
    this.masterSecret = cluster.secret;
    // Attached like the master secret, so it holds the host, port and engine as well.
    this.pipelineSecret = pipelineSecret.attach(cluster);
    this.secret = this.pipelineSecret;
    this.databaseName = DEFAULT_DATABASE_NAME;
  }

  /**
   * Lets `grantee` run SQL through the Data API as the pipeline role: the statement actions on
   * this cluster, and reading `secret`.
   */
  grantDataApiAccess(grantee: IGrantable): Grant {
    return this.grantStatements(grantee).combine(this.secret.grantRead(grantee));
  }

  /**
   * Lets `grantee` (the after-deploy function) migrate and grant: the statement actions, the master
   * secret, and the pipeline secret, whose password it gives the role.
   */
  grantAdministration(grantee: IGrantable): Grant {
    const grant = this.grantStatements(grantee).combine(this.masterSecret.grantRead(grantee));
    return this.pipelineSecret ? grant.combine(this.pipelineSecret.grantRead(grantee)) : grant;
  }

  /** The Data API's statement actions on this cluster, nothing else (no secret). */
  private grantStatements(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: DATA_API_ACTIONS, resourceArns: [this.clusterArn] });
  }
}
