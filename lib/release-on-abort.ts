import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Execution statuses after which an execution can no longer release its own lease. */
export const RELEASE_ON_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

export interface ReleaseOnAbortProps {
  /** The workflows whose executions hold the lease. */
  readonly stateMachines: readonly IStateMachine[];
  /** The lease function; it receives the "Step Functions Execution Status Change" event. */
  readonly lease: IFunction;
}

/**
 * A stopped or timed-out execution runs no Catch, so it cannot release its lease: this rule hands
 * such status changes (and failures, as a second chance) of the lease-holding workflows to the
 * lease function, which releases whatever lease that execution still holds.
 */
export class ReleaseOnAbort extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ReleaseOnAbortProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Rule', {
      description: 'Releases the Hindsight lease of an execution that was stopped, timed out or failed.',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: [...RELEASE_ON_STATUSES],
          stateMachineArn: props.stateMachines.map((machine) => machine.stateMachineArn),
        },
      },
    });
    this.rule.addTarget(
      new LambdaFunction(props.lease, { retryAttempts: 10, maxEventAge: Duration.hours(6) }),
    );
  }
}
