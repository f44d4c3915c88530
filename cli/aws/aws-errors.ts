import { HindsightError, InvalidInputError } from '../../lambdas/engine/errors';

/** An AWS call of the `--aws` mode failed; the message says which call, on what, why, and what to do. */
export class AwsCallError extends HindsightError {}

/** One AWS call, named the way IAM names it, and the resource it was made on. */
export interface AwsCall {
  /** The IAM action, e.g. `states:StartExecution`. */
  readonly action: string;
  /** What it was made on: an ARN, a table or stack name. */
  readonly resource: string;
  /** For `states:StartExecution`: the execution name asked for, if any. */
  readonly executionName?: string;
}

/** Every IAM action the `--aws` mode may call, for the access-denied message. */
export const AWS_MODE_ACTIONS = [
  'cloudformation:DescribeStacks',
  'rds-data:ExecuteStatement',
  'secretsmanager:GetSecretValue',
  'dynamodb:GetItem',
  'states:DescribeExecution',
  'states:StartExecution',
  'states:ListMapRuns',
  'states:DescribeMapRun',
] as const;

const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'KmsThrottlingException',
]);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'ForbiddenException',
  'UnauthorizedOperation',
  'KmsAccessDeniedException',
]);
const NOT_SIGNED_IN = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'TokenRefreshRequired',
]);

/**
 * Runs one AWS call and turns what AWS answers into an error a person can act on: throttled,
 * access denied, not signed in, a name already taken. Anything else keeps AWS's own words, with
 * the call it came from. Errors that are not AWS's (a Hindsight error from an adapter) pass as they are.
 */
export async function awsCall<T>(call: AwsCall, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw translateAwsError(error, call);
  }
}

/** The error `awsCall` throws for `error`; see there. */
export function translateAwsError(error: unknown, call: AwsCall): unknown {
  if (!(error instanceof Error) || error instanceof HindsightError) return error;
  const said = `AWS said: ${error.name}: ${error.message}`;
  const on = `${call.action} on ${call.resource}`;
  if (error.name === 'ExecutionAlreadyExists') {
    // A taken execution name is bad input: nothing was started.
    return InvalidInputError.of(
      '--name',
      call.executionName,
      'a name no execution of this state machine has used in the last 90 days (or no --name: one is generated)',
    );
  }
  if (THROTTLED.has(error.name)) {
    return new AwsCallError(
      `AWS throttled ${on}, even after the SDK's retries (${said}). ` +
        'The workflows were not changed by this; wait a minute and run the command again.',
      { cause: error },
    );
  }
  if (DENIED.has(error.name)) {
    return new AwsCallError(
      `Access denied: your AWS identity may not call ${on} (${said}). ` +
        `Use credentials allowed to call it; the --aws mode calls ${AWS_MODE_ACTIONS.join(', ')}.`,
      { cause: error },
    );
  }
  if (NOT_SIGNED_IN.has(error.name)) {
    return new AwsCallError(
      `No valid AWS credentials for ${on} (${said}). Sign in (for example \`aws sso login\`) or set ` +
        'AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run the command again.',
      { cause: error },
    );
  }
  if (/region is missing/i.test(error.message)) {
    return InvalidInputError.of('--region', undefined, 'an AWS region such as eu-west-1 (or set AWS_REGION)');
  }
  return new AwsCallError(`${on} failed. ${said}`, { cause: error });
}
