import { CfnResource, type Duration } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  type IChainable,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { acknowledgeWildcard, logicalIdOf, qualifiedArnFinding } from './nag';

/** The two workflows. */
export type WorkflowKind = 'daily' | 'backfill';
/** Every state machine Hindsight deploys: the two workflows, and the optional Verify workflow. */
export type StateMachineKind = WorkflowKind | 'verify';

/** CloudFormation metadata key on each state machine: which workflow it is. */
export const WORKFLOW_METADATA_KEY = 'hindsight:workflow';

export interface HindsightStateMachineProps {
  readonly kind: StateMachineKind;
  readonly definition: IChainable;
  readonly comment: string;
  /** Every function the definition invokes (their version wildcard is acknowledged for cdk-nag). */
  readonly invokes: readonly LambdaFunction[];
  /**
   * Longest an execution may run.
   * @default - no limit beyond Step Functions' one year
   */
  readonly timeout?: Duration;
  /**
   * How long execution logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A Standard state machine with Hindsight's defaults: every event logged with execution data to
 * a log group with retention, X-Ray tracing, and a metadata tag naming the workflow.
 */
export function createStateMachine(
  scope: Construct,
  id: string,
  props: HindsightStateMachineProps,
): StateMachine {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
  });
  const machine = new StateMachine(scope, id, {
    definitionBody: DefinitionBody.fromChainable(props.definition),
    stateMachineType: StateMachineType.STANDARD,
    comment: props.comment,
    logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
    ...(props.timeout ? { timeout: props.timeout } : {}),
  });
  const cfn = machine.node.defaultChild;
  if (cfn instanceof CfnResource) cfn.addMetadata(WORKFLOW_METADATA_KEY, props.kind);

  acknowledgeWildcard(
    machine.role,
    'Resource::*',
    'Only the execution logging actions (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, ' +
      'DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups), ' +
      'which Step Functions documents on Resource *, and X-Ray tracing (xray:PutTraceSegments, ' +
      'PutTelemetryRecords, GetSamplingRules, GetSamplingTargets), which supports no resource-level ' +
      'permissions, use Resource *.',
  );
  for (const fn of new Set(props.invokes)) {
    acknowledgeWildcard(
      machine.role,
      qualifiedArnFinding(fn),
      `Invokes ${fn.node.scope?.node.id ?? fn.node.id} only: the :* suffix covers that one function's ` +
        'versions and aliases, as CDK grants for a Lambda Task.',
    );
  }
  const distributedMapPolicy = machine.node.tryFindChild('DistributedMapPolicy');
  if (distributedMapPolicy) {
    const name = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: logicalIdOf(machine) }] }] });
    const executions = `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}`;
    acknowledgeWildcard(
      distributedMapPolicy,
      `${executions}:*`,
      "states:DescribeExecution and StopExecution on this state machine's executions (<name>:*), as CDK " +
        'grants a Distributed Map: execution names are generated per run, and the wildcard stays within ' +
        'this one state machine.',
    );
    acknowledgeWildcard(
      distributedMapPolicy,
      `${executions}/*:*`,
      "Redrive the Distributed Map's child executions, which Step Functions names per Map Run; the wildcard " +
        'stays within this one state machine.',
    );
  }
  return machine;
}
