/**
 * What a deployed Hindsight stack tells the outside world: its name and its CloudFormation
 * outputs. The stack writes them (lib/hindsight-stack.ts); the CLI's `--aws` mode reads them.
 * Kept apart from the constructs so the CLI need not load the whole CDK to find a stack.
 */

/** Output keys of the stack. */
export const OUTPUTS = {
  dailyStateMachineArn: 'DailyStateMachineArn',
  backfillStateMachineArn: 'BackfillStateMachineArn',
  leaseTableName: 'LeaseTableName',
  clusterArn: 'ClusterArn',
  secretArn: 'SecretArn',
  databaseName: 'DatabaseName',
} as const;

/** The stack's outputs by their meaning. */
export type StackOutputs = { readonly [K in keyof typeof OUTPUTS]: string };

/** The stack name `bin/app.ts` deploys when `hindsight:stackName` is not set in cdk.json. */
export const DEFAULT_STACK_NAME = 'Hindsight';

/** CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128 characters. */
export const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
export const STACK_NAME_FORM =
  'a CloudFormation stack name: a letter, then letters, digits or -, at most 128';
