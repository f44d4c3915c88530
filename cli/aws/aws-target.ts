import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DATA_API_CLIENT_CONFIG, DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { StepFunctionsLiveness } from '../../lambdas/adapters/sfn-liveness';
import { HindsightError } from '../../lambdas/engine/errors';
import { LeaseService, type LeaseStore } from '../../lambdas/engine/lease';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlClient, SqlRow, SqlValue } from '../../lambdas/engine/sql';
import type { Transition } from '../../lambdas/engine/transition';
import { type RolledBackTransaction, rollingBack } from '../../lambdas/workflow/verify';
import type { Target } from '../target';
import { awsCall, translateAwsError } from './aws-errors';
import { readDeployedStack } from './deployed-stack';
import { StepFunctionsExecutions } from './step-functions-executions';

/** The `--aws` mode writes nothing itself: the deployed workflows do. */
export class ReadOnlyTargetError extends HindsightError {}

export interface AwsTargetOptions {
  readonly stackName: string;
  /** @default the SDK's: AWS_REGION, then the profile's */
  readonly region?: string;
  readonly pipeline: Pipeline;
  readonly transitions: readonly Transition[];
  readonly maxBackfillDays: number;
  readonly now: () => Date;
  /** Time between two looks at a running execution, in ms. */
  readonly pollMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A deployed stack as the commands' target: its outputs read from CloudFormation, the ledger
 * through the RDS Data API, the lease from DynamoDB, the workflows through Step Functions.
 * Credentials come from the SDK's default chain (AWS_PROFILE, SSO, environment).
 */
export async function openAwsTarget(options: AwsTargetOptions): Promise<Target> {
  const region = options.region === undefined ? {} : { region: options.region };
  const clients = {
    cloudFormation: new CloudFormationClient(region),
    sfn: new SFNClient(region),
    dynamo: new DynamoDBClient(region),
    rds: new RDSDataClient({ ...DATA_API_CLIENT_CONFIG, ...region }),
  };
  const close = async () => {
    for (const client of Object.values(clients)) client.destroy();
  };
  try {
    const resolvedRegion = await clients.cloudFormation.config.region().catch((error: unknown) => {
      throw translateAwsError(error, {
        action: 'cloudformation:DescribeStacks',
        resource: options.stackName,
      });
    });
    const stack = await readDeployedStack(clients.cloudFormation, options.stackName, resolvedRegion);
    const dataApi = new DataApiSqlClient({
      resourceArn: stack.clusterArn,
      secretArn: stack.secretArn,
      database: stack.databaseName,
      client: clients.rds,
    });
    const sql = readOnlySql(dataApi, stack.clusterArn);
    const leaseStore = readOnlyLeaseStore(
      new DynamoDbLeaseStore({ client: clients.dynamo, tableName: stack.leaseTableName }),
      stack.leaseTableName,
    );
    const executions = new StepFunctionsExecutions(clients.sfn, stack, {
      pollMs: options.pollMs,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
    return {
      description: `stack ${stack.stackName} in ${stack.region}`,
      deps: {
        sql,
        pipeline: options.pipeline,
        params: {},
        leases: new LeaseService(leaseStore, new StepFunctionsLiveness(clients.sfn)),
        transitions: options.transitions,
        maxBackfillDays: options.maxBackfillDays,
        now: options.now,
      },
      leaseStore,
      rolledBack: rolledBackSql(dataApi, stack.clusterArn),
      start: async (kind, input, name) => {
        const executionId = await executions.start(kind, input, name);
        return { executionId, wait: (onProgress) => executions.waitFor(executionId, onProgress) };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The ledger through the Data API, for reading: AWS errors become clear ones, and nothing opens a transaction. */
function readOnlySql(sql: DataApiSqlClient, clusterArn: string): SqlClient {
  const call = { action: 'rds-data:ExecuteStatement', resource: clusterArn };
  return {
    kind: sql.kind,
    query: <Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]) =>
      awsCall(call, () => sql.query<Row>(text, params)),
    transaction: () =>
      Promise.reject(
        new ReadOnlyTargetError('The --aws mode only reads the ledger; the deployed workflows write it.'),
      ),
    close: () => sql.close(),
  };
}

/**
 * Transactions through the Data API that always roll back (`verify` runs a stage's SQL in one and
 * keeps nothing): BeginTransaction, the statements, RollbackTransaction, each AWS error made clear.
 */
function rolledBackSql(sql: DataApiSqlClient, clusterArn: string): RolledBackTransaction {
  const statement = { action: 'rds-data:ExecuteStatement', resource: clusterArn };
  return rollingBack({
    transaction: (work) =>
      awsCall({ action: 'rds-data:BeginTransaction', resource: clusterArn }, () =>
        sql.transaction((tx) =>
          work({
            query: <Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]) =>
              awsCall(statement, () => tx.query<Row>(text, params)),
          }),
        ),
      ),
  });
}

/** The lease table, for reading: the deployed workflows take and give back the lease, never the CLI. */
function readOnlyLeaseStore(store: LeaseStore, tableName: string): LeaseStore {
  return {
    read: () => awsCall({ action: 'dynamodb:GetItem', resource: `table ${tableName}` }, () => store.read()),
    tryWrite: () =>
      Promise.reject(
        new ReadOnlyTargetError('The --aws mode only reads the lease; the deployed workflows take it.'),
      ),
  };
}
