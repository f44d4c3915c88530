/**
 * The environment the CDK stack gives every Hindsight function, with fake values. Imported first
 * by handler tests: each handler module builds its AWS clients at import, as on a cold start
 * (building a client sends nothing).
 */
Object.assign(process.env, {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  DB_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:hindsight-test',
  DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hindsight-test-AbCdEf',
  DB_NAME: 'hindsight',
  LEASE_TABLE_NAME: 'hindsight-test-lease',
  HINDSIGHT_STAGE: 'collect',
  // The after-deploy function's own.
  BACKFILL_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:HindsightBackfill',
  HINDSIGHT_DEPLOYMENT_ID: '0123456789abcdef',
  HINDSIGHT_AUTO_BACKFILL: 'true',
});
