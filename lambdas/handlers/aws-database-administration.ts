/**
 * In a module of its own so that Secrets Manager's client is bundled with the after-deploy
 * function alone.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DataApiSqlClient } from '../adapters/data-api-sql';
import { readDatabaseCredentials } from '../adapters/secrets-manager-credentials';
import type { DatabaseAdministration } from '../workflow/after-deploy';
import { requiredEnv } from './aws-dependencies';

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
