/**
 * What every handler needs in AWS: the configured pipeline and Aurora through the Data API. The
 * other AWS clients live in modules of their own (`aws-lease.ts`: DynamoDB and Step Functions;
 * `aws-database-administration.ts`: Secrets Manager), imported only by the handlers that use them,
 * so each bundle holds only its own clients (test/infra/bundle-contents.test.ts checks it).
 */
import * as configured from 'hindsight-configured-pipeline';
import { DataApiSqlClient } from '../adapters/data-api-sql';
import type { PipelineParams } from '../engine/stage';
import type { LeaselessDependencies } from '../workflow/steps';

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
 * The steps' dependencies in AWS but the lease (see `awsLeaseService`): the pipeline the bundle was
 * built with (the module that `hindsight:pipeline` names), Aurora through the Data API as the
 * pipeline role (`DB_SECRET_ARN`). Built once per cold start.
 */
export function awsDependencies(): LeaselessDependencies {
  return {
    sql: new DataApiSqlClient({
      resourceArn: requiredEnv('DB_CLUSTER_ARN'),
      secretArn: requiredEnv('DB_SECRET_ARN'),
      database: requiredEnv('DB_NAME'),
    }),
    pipeline: configured.pipeline,
    params: paramsEnv(),
    transitions: configured.transitions ?? [],
    maxBackfillDays: numberEnv('HINDSIGHT_MAX_BACKFILL_DAYS', 3660),
    now: () => new Date(),
  };
}
