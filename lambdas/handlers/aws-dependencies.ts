import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import * as configured from 'hindsight-configured-pipeline';
import { DataApiSqlClient } from '../adapters/data-api-sql';
import { DynamoDbLeaseStore } from '../adapters/dynamodb-lease-store';
import { readDatabaseCredentials } from '../adapters/secrets-manager-credentials';
import { StepFunctionsLiveness } from '../adapters/sfn-liveness';
import { LeaseService } from '../engine/lease';
import type { PipelineParams } from '../engine/stage';
import type { DatabaseAdministration } from '../workflow/after-deploy';
import type { StepDependencies } from '../workflow/steps';

/** Reads a required environment variable at cold start, failing loudly with what is missing. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `Environment variable ${name} is not set; the CDK stack sets it on every Hindsight function.`,
    );
  }
  return value;
}

function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`Environment variable ${name} is ${raw}; expected a whole number from 1.`);
  return value;
}

/** `HINDSIGHT_PARAMS`: the pipeline's parameters as a JSON object of strings (`hindsight:params`). */
function paramsEnv(): PipelineParams {
  const raw = process.env.HINDSIGHT_PARAMS;
  if (raw === undefined || raw === '') return {};
  const parsed: unknown = JSON.parse(raw);
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((value) => typeof value === 'string');
  if (!valid)
    throw new Error(`Environment variable HINDSIGHT_PARAMS is ${raw}; expected a JSON object of strings.`);
  return parsed as PipelineParams;
}

/**
 * The steps' dependencies in AWS: the pipeline the bundle was built with (the module that
 * `hindsight:pipeline` names), Aurora through the Data API as the pipeline role (`DB_SECRET_ARN`),
 * the lease in DynamoDB. Built once per cold start.
 */
export function awsDependencies(): StepDependencies {
  const sql = new DataApiSqlClient({
    resourceArn: requiredEnv('DB_CLUSTER_ARN'),
    secretArn: requiredEnv('DB_SECRET_ARN'),
    database: requiredEnv('DB_NAME'),
  });
  const store = new DynamoDbLeaseStore({
    client: new DynamoDBClient({}),
    tableName: requiredEnv('LEASE_TABLE_NAME'),
  });
  return {
    sql,
    pipeline: configured.pipeline,
    params: paramsEnv(),
    leases: new LeaseService(store, new StepFunctionsLiveness(new SFNClient({}))),
    transitions: configured.transitions ?? [],
    maxBackfillDays: numberEnv('HINDSIGHT_MAX_BACKFILL_DAYS', 3660),
    now: () => new Date(),
  };
}

/**
 * The after-deploy function's master side: the Data API with the master secret
 * (`DB_MASTER_SECRET_ARN`, set on that function alone) for migrations and grants, and the pipeline
 * role's login read from its secret (`DB_SECRET_ARN`). Undefined when the stack has no pipeline
 * role (an existing cluster without `hindsight:pipelineSecretArn`): `DB_SECRET_ARN` is then the
 * master secret, and the steps' own connection migrates.
 */
export function awsDatabaseAdministration(): DatabaseAdministration | undefined {
  const masterSecretArn = process.env.DB_MASTER_SECRET_ARN;
  if (masterSecretArn === undefined || masterSecretArn === '') return undefined;
  const pipelineSecretArn = requiredEnv('DB_SECRET_ARN');
  const secrets = new SecretsManagerClient({});
  return {
    sql: new DataApiSqlClient({
      resourceArn: requiredEnv('DB_CLUSTER_ARN'),
      secretArn: masterSecretArn,
      database: requiredEnv('DB_NAME'),
    }),
    pipelineRole: () => readDatabaseCredentials(secrets, pipelineSecretArn),
  };
}
