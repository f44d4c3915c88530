import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DatabaseSecretError,
  readDatabaseCredentials,
} from '../../lambdas/adapters/secrets-manager-credentials';
import { awsDatabaseAdministration } from '../../lambdas/handlers/aws-database-administration';

const PIPELINE_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pipeline-AbCdEf';
const MASTER_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-XyZ123';

const secrets = mockClient(SecretsManagerClient);
afterEach(() => secrets.reset());

describe('Function: readDatabaseCredentials', () => {
  it('reads the username and password of a database secret', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand, { SecretId: PIPELINE_SECRET }).resolves({
      SecretString: JSON.stringify({ username: 'hindsight_pipeline', password: 's3cr3t', port: 5432 }),
    });

    // Act
    const login = await readDatabaseCredentials(new SecretsManagerClient({}), PIPELINE_SECRET);

    // Assess
    expect(login).toEqual({ username: 'hindsight_pipeline', password: 's3cr3t' });
  });

  it.each([
    ['no JSON', 'hunter2', 'username and password missing'],
    ['no password', JSON.stringify({ username: 'hindsight_pipeline' }), 'password missing'],
    ['an empty username', JSON.stringify({ username: '', password: 'hunter2' }), 'username missing'],
  ])('refuses a secret with %s, naming the secret but never its value', async (_, value, missing) => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: value });

    // Act
    const read = readDatabaseCredentials(new SecretsManagerClient({}), PIPELINE_SECRET);

    // Assess
    await expect(read).rejects.toThrow(DatabaseSecretError);
    await expect(read).rejects.toThrow(`The secret ${PIPELINE_SECRET} holds no database login: ${missing}`);
    await expect(read).rejects.not.toThrow(/hunter2/);
  });
});

describe('Function: awsDatabaseAdministration', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.DB_CLUSTER_ARN = 'arn:aws:rds:eu-west-1:123456789012:cluster:hindsight';
    process.env.DB_NAME = 'hindsight';
    process.env.DB_SECRET_ARN = PIPELINE_SECRET;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is absent without a master secret of its own: the steps connection migrates', () => {
    delete process.env.DB_MASTER_SECRET_ARN;
    expect(awsDatabaseAdministration()).toBeUndefined();
  });

  it("migrates with the master secret and reads the pipeline role's login from DB_SECRET_ARN", async () => {
    // Prepare
    process.env.DB_MASTER_SECRET_ARN = MASTER_SECRET;
    secrets
      .on(GetSecretValueCommand, { SecretId: PIPELINE_SECRET })
      .resolves({ SecretString: JSON.stringify({ username: 'hindsight_pipeline', password: 'pw' }) });

    // Act
    const admin = awsDatabaseAdministration();

    // Assess
    expect(admin?.sql.kind).toBe('data-api');
    await expect(admin?.pipelineRole?.()).resolves.toEqual({
      username: 'hindsight_pipeline',
      password: 'pw',
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId)).toEqual([
      PIPELINE_SECRET,
    ]);
    await admin?.sql.close();
  });
});
