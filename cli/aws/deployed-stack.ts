import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { OUTPUTS, type StackOutputs } from '../../lib/stack-outputs';
import { AwsCallError, awsCall } from './aws-errors';

/** A deployed Hindsight stack, as its CloudFormation outputs describe it. */
export interface DeployedStack extends StackOutputs {
  readonly stackName: string;
  readonly region: string;
}

/** Stack states whose outputs are those of a finished deployment (possibly an older one, after a rollback). */
const USABLE_STATUSES = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
]);

/**
 * Finds the stack and reads the outputs the CLI needs (one `DescribeStacks`). Refuses a stack that
 * does not exist, that never finished deploying, or that lacks one of Hindsight's outputs.
 */
export async function readDeployedStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<DeployedStack> {
  const call = { action: 'cloudformation:DescribeStacks', resource: `stack ${stackName} in ${region}` };
  const { Stacks: stacks } = await awsCall(call, () =>
    cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })),
  ).catch((error: unknown) => {
    throw stackNotFound(error, stackName, region) ?? error;
  });
  const stack = stacks?.[0];
  if (stack === undefined) throw new AwsCallError(`DescribeStacks returned no stack named ${stackName}.`);
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (!USABLE_STATUSES.has(status)) {
    throw new AwsCallError(
      `Stack ${stackName} in ${region} is ${status}: it has no finished deployment to work with. ` +
        'Deploy it again with `npx cdk deploy`.',
    );
  }
  const values = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const outputs: Partial<Record<keyof StackOutputs, string>> = {};
  const missing: string[] = [];
  for (const [field, key] of Object.entries(OUTPUTS) as Array<[keyof StackOutputs, string]>) {
    const value = values.get(key);
    if (value) outputs[field] = value;
    else missing.push(key);
  }
  if (missing.length > 0) {
    throw new AwsCallError(
      `Stack ${stackName} in ${region} has no output ${missing.join(', ')}: it is not a Hindsight stack, ` +
        'or was deployed by an older version. Deploy this version with `npx cdk deploy`.',
    );
  }
  return { stackName, region, ...(outputs as StackOutputs) };
}

/** CloudFormation answers a missing stack with a generic ValidationError; say what it means. */
function stackNotFound(error: unknown, stackName: string, region: string): AwsCallError | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (
    !(cause instanceof Error) ||
    cause.name !== 'ValidationError' ||
    !/does not exist/.test(cause.message)
  ) {
    return undefined;
  }
  return new AwsCallError(
    `There is no stack named ${stackName} in ${region}. Deploy it with \`npx cdk deploy\`, or name the ` +
      'deployed one with --stack (or hindsight:stackName in cdk.json) and its region with --region.',
    { cause },
  );
}
