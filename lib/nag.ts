import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag 3 acknowledges one finding per call; these helpers name the findings Hindsight
 * knowingly keeps, so every acknowledgment stays specific to one resource and one wildcard.
 */

/** Acknowledges one `AwsSolutions-IAM5` wildcard finding (e.g. `Resource::*`) on `scope`. */
export function acknowledgeWildcard(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
}

/** The IAM5 finding cdk-nag reports for `<resource ARN>:*` of `resource` (e.g. a function's versions). */
export function qualifiedArnFinding(resource: IConstruct): string {
  return `Resource::<${logicalIdOf(resource)}.Arn>:*`;
}

/** The CloudFormation logical id of `resource` (an L1, or an L2 whose default child is one). */
export function logicalIdOf(resource: IConstruct): string {
  const cfn = CfnResource.isCfnResource(resource) ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`${resource.node.path} has no CloudFormation resource.`);
  const logicalId: unknown = Stack.of(cfn).resolve(cfn.logicalId);
  if (typeof logicalId !== 'string')
    throw new Error(`The logical id of ${cfn.node.path} did not resolve to a string.`);
  return logicalId;
}
