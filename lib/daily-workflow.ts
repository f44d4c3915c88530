import { Duration } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Errors, Fail, JsonPath, type StateMachine, Succeed, TaskInput } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { CheckEarlierDatesInput, DailyInput } from '../lambdas/workflow/contracts';
import type { HindsightFunctions } from './functions';
import { createStateMachine } from './state-machine';
import {
  acquireLease,
  ERRORS,
  failWithCaughtError,
  invoke,
  releaseLease,
  renewsLease,
  StageChain,
} from './workflow-states';

/** State names of the daily workflow that are not per stage (the stages' are `runStateName`). */
export const DAILY_STATES = {
  resolveDate: 'Resolve Date',
  acquireLease: 'Acquire Lease',
  checkEarlierDates: 'Check Earlier Dates',
  gaveUp: 'Gave Up Waiting For Lease',
  releaseLease: 'Release Lease',
  releaseAfterFailure: 'Release Lease After Failure',
  failRun: 'Fail Daily Run',
  finish: 'Finish Daily Run',
} as const;

export interface DailyWorkflowProps {
  readonly pipeline: Pipeline;
  readonly functions: HindsightFunctions;
  /** EventBridge schedule expression, e.g. `cron(0 2 * * ? *)`. */
  readonly schedule: string;
  /** How long "Acquire Lease" keeps retrying while a backfill holds the lease. */
  readonly leaseWait: Duration;
  /**
   * How long execution logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The daily run, started by a schedule: resolve the date (the day before the scheduled time, or
 * an explicit `{"date"}`), take the lease (waiting while a backfill holds it), check that no
 * earlier date it reads is planned to be rewritten, run every stage in order, release the lease.
 * A refused check or a stage failure releases the lease and fails with that error.
 */
export class DailyWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /** The EventBridge rule that starts a run with `{"scheduledTime": <event time>}`. */
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: DailyWorkflowProps) {
    super(scope, id);
    const { functions } = props;

    const resolveDate = invoke(this, DAILY_STATES.resolveDate, functions.resolveDate, {
      resultPath: '$.resolved',
    });
    const acquire = acquireLease(this, functions, 'daily', props.leaseWait);
    acquire.addCatch(
      new Fail(this, DAILY_STATES.gaveUp, {
        error: ERRORS.gaveUpWaitingForLease,
        cause:
          `The lease stayed held for ${props.leaseWait.toHumanString()}, so this date did not run; it stays ` +
          'due. Start the backfill {"mode": "auto"}, which runs it in order (so does the next deploy\'s); ' +
          'until then, later daily runs whose window reads it are refused.',
      }),
      { errors: [ERRORS.leaseHeld], resultPath: '$.error' },
    );
    const releaseAfterFailure = releaseLease(this, DAILY_STATES.releaseAfterFailure, functions, 'daily').next(
      failWithCaughtError(this, DAILY_STATES.failRun),
    );
    // The holder and its token: the check renews the lease first, like every Task under it.
    const checkInput: { readonly [K in keyof CheckEarlierDatesInput]-?: string | number } = {
      date: JsonPath.stringAt('$.resolved.date'),
      executionId: JsonPath.executionId,
      token: JsonPath.numberAt('$.lease.token'),
    };
    const check = renewsLease(
      invoke(this, DAILY_STATES.checkEarlierDates, functions.checkEarlierDates, {
        payload: TaskInput.fromObject(checkInput),
        resultPath: '$.earlierDates',
      }),
    );
    check.addCatch(releaseAfterFailure, { errors: [Errors.ALL], resultPath: '$.error' });
    const stages = new StageChain(this, {
      pipeline: props.pipeline,
      functions,
      input: { date: '$.resolved.date', token: '$.lease.token', executionId: JsonPath.executionId },
      onFailure: releaseAfterFailure,
      next: releaseLease(this, DAILY_STATES.releaseLease, functions, 'daily').next(
        new Succeed(this, DAILY_STATES.finish),
      ),
    });

    this.stateMachine = createStateMachine(this, 'StateMachine', {
      kind: 'daily',
      comment: 'Hindsight daily run: every stage, in order, for one date, under the lease.',
      definition: resolveDate.next(acquire).next(check).next(stages.first),
      invokes: [
        ...functions.stages.values(),
        functions.resolveDate,
        functions.lease,
        functions.checkEarlierDates,
      ],
      // A run that is still going a day later would overlap the next one.
      timeout: Duration.hours(23),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });

    const input: Required<Pick<DailyInput, 'scheduledTime'>> = { scheduledTime: EventField.time };
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Starts the Hindsight daily run for the day before the scheduled time.',
      schedule: Schedule.expression(props.schedule),
    });
    this.schedule.addTarget(
      new SfnStateMachine(this.stateMachine, { input: RuleTargetInput.fromObject(input), retryAttempts: 10 }),
    );
  }
}
