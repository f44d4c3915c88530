/**
 * The fake environment CloudFormation tokens resolve to in the local definitions, apart from the
 * synthesis (lib/workflow-definitions.ts): the local runtime names its executions with it without
 * loading aws-cdk-lib.
 */
export const FAKE_ENVIRONMENT = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;
