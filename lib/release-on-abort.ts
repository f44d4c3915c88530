import { Duration, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Execution statuses after which an execution can no longer release its own lease. */
export const RELEASE_ON_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/** How long a status-change event may wait for delivery or for a successful invocation. */
export const RELEASE_EVENT_MAX_AGE = Duration.hours(6);

export interface ReleaseOnAbortProps {
  /** The workflows whose executions hold the lease. */
  readonly stateMachines: readonly IStateMachine[];
  /** The lease function; it receives the "Step Functions Execution Status Change" event. */
  readonly lease: IFunction;
}

/**
 * A stopped or timed-out execution runs no Catch, so it cannot release its lease: this rule hands
 * such status changes (and failures, as a second chance) of the lease-holding workflows to the
 * lease function, which releases the lease that execution still holds, unless it runs again (a
 * redrive). EventBridge invokes the function asynchronously: an event it could not deliver, and
 * an invocation that still failed after Lambda's own two retries, land in `failures`, which the
 * `LeaseReleaseFailed` alarm watches, instead of being dropped.
 */
export class ReleaseOnAbort extends Construct {
  readonly rule: Rule;
  /** The events whose release never succeeded, kept 14 days: the rule's dead-letter queue and the function's on-failure destination. */
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: ReleaseOnAbortProps) {
    super(scope, id);
    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue: the rule target sends it the events it could not deliver, ' +
        'and the lease function the invocations that failed after their retries. The LeaseReleaseFailed alarm watches it.',
    });
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
      new LambdaFunction(props.lease, {
        retryAttempts: 10,
        maxEventAge: RELEASE_EVENT_MAX_AGE,
        deadLetterQueue: this.failures,
      }),
    );
    props.lease.configureAsyncInvoke({
      onFailure: new SqsDestination(this.failures),
      retryAttempts: 2,
      maxEventAge: RELEASE_EVENT_MAX_AGE,
    });
  }
}
