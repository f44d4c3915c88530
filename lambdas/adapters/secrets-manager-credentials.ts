import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HindsightError } from '../engine/errors';
import type { DatabaseCredentials } from '../ledger/pipeline-role';

/** A database secret that holds no usable login. Its value is never part of the message. */
export class DatabaseSecretError extends HindsightError {}

/**
 * The `username` and `password` of a Secrets Manager database secret (the JSON shape RDS and the
 * Data API use). The after-deploy function reads the pipeline role's secret this way, to give the
 * role that password.
 */
export async function readDatabaseCredentials(
  client: SecretsManagerClient,
  secretArn: string,
): Promise<DatabaseCredentials> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(SecretString ?? '');
  } catch {
    parsed = undefined;
  }
  const login = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const missing = ['username', 'password'].filter(
    (key) => typeof login[key] !== 'string' || login[key] === '',
  );
  if (missing.length > 0) {
    throw new DatabaseSecretError(
      `The secret ${secretArn} holds no database login: ${missing.join(' and ')} missing. Expected a ` +
        'JSON object like {"username": "hindsight_pipeline", "password": "…"} (its value is not shown).',
    );
  }
  return { username: String(login.username), password: String(login.password) };
}
