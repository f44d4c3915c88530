/**
 * The lease in AWS, for the handlers that take, keep or release it (lease, check-earlier-dates,
 * prepare-date, stage): a module of its own so that the other bundles carry neither client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDbLeaseStore } from '../adapters/dynamodb-lease-store';
import { StepFunctionsLiveness } from '../adapters/sfn-liveness';
import { LeaseService } from '../engine/lease';
import { requiredEnv } from './aws-dependencies';

/** The lease in DynamoDB (`LEASE_TABLE_NAME`), its holders' liveness asked of Step Functions. Built once per cold start. */
export function awsLeaseService(): LeaseService {
  const store = new DynamoDbLeaseStore({
    client: new DynamoDBClient({}),
    tableName: requiredEnv('LEASE_TABLE_NAME'),
  });
  return new LeaseService(store, new StepFunctionsLiveness(new SFNClient({})));
}
