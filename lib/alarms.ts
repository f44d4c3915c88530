import { Annotations, Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  METRIC_NAMESPACE,
  SERVICE_NAME,
} from '../lambdas/handlers/observability';
import type { LeaseKind } from '../lambdas/workflow/contracts';

/** Period of the failed-execution alarms: a failure alarms within about five minutes. */
export const FAILURE_ALARM_PERIOD = Duration.minutes(5);
/** Period of the blocked-daily alarm: the lease is polled once a minute, so every 5-minute period of a wait has polls. */
export const BLOCKED_ALARM_PERIOD = Duration.minutes(5);
/** How long without a successful daily run before the missing-run alarm fires, in hourly periods. */
export const DAILY_SUCCESS_WINDOW_HOURS = 26;

export interface HindsightAlarmsProps {
  readonly daily: IStateMachine;
  readonly backfill: IStateMachine;
  /**
   * How long a daily run may keep finding the lease busy before the blocked alarm fires, rounded
   * up to whole 5-minute periods. Keep it below the lease wait: at the lease wait the run gives up
   * and fails, which the failed-run alarm reports.
   */
  readonly dailyBlockedLimit: Duration;
  /** How long "Acquire Lease" polls before the daily run gives up (a limit at or over it gets a synth warning). */
  readonly leaseWait: Duration;
  /**
   * Where every alarm notifies when it goes into ALARM.
   * @default - no action: the alarms show in the CloudWatch console only
   */
  readonly topic?: ITopic;
  /**
   * Alarm when a Verify execution finds stored data that differs from what the code computes (set
   * when the Verify workflow is deployed).
   * @default false
   */
  readonly verify?: boolean;
  /**
   * Where the rule that releases a stopped execution's lease puts the events it could not
   * deliver and the invocations that failed (`ReleaseOnAbort.failures`): alarm when one arrives.
   * @default - no such alarm
   */
  readonly leaseReleaseFailures?: IQueue;
}

/**
 * Hindsight's alarms: a failed backfill, a failed daily run, a daily run kept waiting for the
 * lease, no successful daily run for 26 hours, and a deploy whose automatic backfill could not be
 * planned. Each one notifies `topic`, when given.
 */
export class HindsightAlarms extends Construct {
  /** A backfill execution failed (its failed date stops it; starting it again resumes). */
  readonly backfillFailed: Alarm;
  /** A daily execution failed: a stage failed, or it gave up waiting for the lease. */
  readonly dailyFailed: Alarm;
  /** A daily run has found the lease busy for `dailyBlockedLimit`: a backfill keeps it waiting. */
  readonly dailyBlocked: Alarm;
  /** No daily execution succeeded for 26 hours: not started, failed, timed out or still running. */
  readonly dailyMissing: Alarm;
  /** The after-deploy function's auto plan was refused (over `hindsight:maxBackfillDays`): no backfill started. */
  readonly afterDeployPlanRefused: Alarm;
  /** A Verify execution found cells that differ from what the code computes (with the Verify workflow only). */
  readonly verifyDifferences?: Alarm;
  /** The release of a stopped, timed-out or failed execution's lease failed for good (with `leaseReleaseFailures`). */
  readonly leaseReleaseFailed?: Alarm;

  constructor(scope: Construct, id: string, props: HindsightAlarmsProps) {
    super(scope, id);

    this.backfillFailed = new Alarm(this, 'BackfillFailed', {
      alarmDescription:
        'A Hindsight backfill execution failed: a planned date failed, so later dates did not run. ' +
        'Read the failed date in the execution, fix the cause, then start the backfill again ({"mode": "auto"}): it resumes.',
      metric: props.backfill.metricFailed({ period: FAILURE_ALARM_PERIOD, statistic: Stats.SUM }),
      ...atLeastOnce(),
    });
    this.dailyFailed = new Alarm(this, 'DailyFailed', {
      alarmDescription:
        "A Hindsight daily execution failed (a stage failed, or it gave up waiting for the lease). The date's " +
        'data is missing or stale; a backfill in auto mode reruns it once the cause is fixed.',
      metric: props.daily.metricFailed({ period: FAILURE_ALARM_PERIOD, statistic: Stats.SUM }),
      ...atLeastOnce(),
    });

    const blockedPeriods = Math.max(
      1,
      Math.ceil(props.dailyBlockedLimit.toSeconds() / BLOCKED_ALARM_PERIOD.toSeconds()),
    );
    this.dailyBlocked = new Alarm(this, 'DailyBlocked', {
      alarmDescription:
        `A Hindsight daily run has found the lease held for ${props.dailyBlockedLimit.toHumanString()}: a backfill keeps ` +
        'it waiting. It proceeds when the backfill releases the lease, or gives up and fails at the lease wait.',
      metric: leaseBusy('daily', BLOCKED_ALARM_PERIOD),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: blockedPeriods,
      datapointsToAlarm: blockedPeriods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (props.dailyBlockedLimit.toSeconds() >= props.leaseWait.toSeconds()) {
      Annotations.of(this.dailyBlocked).addWarningV2(
        'hindsight:dailyBlockedAlarmNeverFires',
        `hindsight:dailyBlockedAlarmMinutes (${props.dailyBlockedLimit.toMinutes()}) is not below ` +
          `hindsight:leaseWaitMinutes (${props.leaseWait.toMinutes()}): a daily run gives up waiting first, so this ` +
          'alarm never fires (the failed-run alarm does). Set it below the lease wait.',
      );
    }

    // CloudWatch allows at most one day of evaluation for periods under an hour, seven days from an
    // hour up: 26 hourly periods, each without a success (missing data counts as none).
    this.dailyMissing = new Alarm(this, 'DailyMissing', {
      alarmDescription:
        `No Hindsight daily execution succeeded in the last ${DAILY_SUCCESS_WINDOW_HOURS} hours: the schedule did not ` +
        'start it, or it failed, timed out or is still running. Check the daily state machine.',
      metric: props.daily.metricSucceeded({ period: Duration.hours(1), statistic: Stats.SUM }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: DAILY_SUCCESS_WINDOW_HOURS,
      datapointsToAlarm: DAILY_SUCCESS_WINDOW_HOURS,
      treatMissingData: TreatMissingData.BREACHING,
    });

    this.afterDeployPlanRefused = new Alarm(this, 'AfterDeployPlanRefused', {
      alarmDescription:
        'The Hindsight after-deploy function could not plan the automatic backfill: the auto plan was refused (it ' +
        'would rerun more dates than hindsight:maxBackfillDays allows, e.g. since a date due years ago). The deploy ' +
        "went ahead and no backfill was started. The function's log gives the refusal; start the backfill in parts " +
        'from the console, {"mode": "auto", "from": "…", "to": "…"}, as it says.',
      metric: afterDeployPlanRefused(FAILURE_ALARM_PERIOD),
      ...atLeastOnce(),
    });

    if (props.verify) {
      this.verifyDifferences = new Alarm(this, 'VerifyDifferences', {
        alarmDescription:
          'A Hindsight Verify execution found stored rows that differ from what the current code computes (a stage ' +
          'changed without a version bump, or rows were changed by hand), or could not recompute a cell. The ' +
          "execution's output names the dates and stages; `hindsight --aws verify --from D --to D` shows the rows.",
        metric: verifyDifferences(FAILURE_ALARM_PERIOD),
        ...atLeastOnce(),
      });
    }

    if (props.leaseReleaseFailures) {
      this.leaseReleaseFailed = new Alarm(this, 'LeaseReleaseFailed', {
        alarmDescription:
          "The release of a stopped, timed-out or failed Hindsight execution's lease failed after every retry, or its " +
          `event could not be delivered; the event waits in the queue ${props.leaseReleaseFailures.queueName}. ` +
          'Until someone acquires the lease again (which frees it once Step Functions says that execution ended), ' +
          "the fence stays at the ended execution's token. Read the lease function's log for the cause, then " +
          'delete the message.',
        metric: props.leaseReleaseFailures.metricApproximateNumberOfMessagesVisible({
          period: FAILURE_ALARM_PERIOD,
          statistic: Stats.MAXIMUM,
        }),
        ...atLeastOnce(),
      });
    }

    if (props.topic) {
      const action = new SnsAction(props.topic);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }

  /** Every alarm of Hindsight. */
  get all(): readonly Alarm[] {
    return [
      this.backfillFailed,
      this.dailyFailed,
      this.dailyBlocked,
      this.dailyMissing,
      this.afterDeployPlanRefused,
      ...(this.verifyDifferences ? [this.verifyDifferences] : []),
      ...(this.leaseReleaseFailed ? [this.leaseReleaseFailed] : []),
    ];
  }
}

/** Sum ≥ 1 in one period; a period without data is not a failure. */
function atLeastOnce() {
  return {
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  } as const;
}

/** The verify handler's `VerifyDifferences` count: cells a Verify execution found differing or could not recompute. */
export function verifyDifferences(period: Duration): Metric {
  return serviceSum(METRIC_NAMES.verifyDifferences, period);
}

/** The after-deploy handler's `AfterDeployPlanRefused`: 1 when it reported a refused plan instead of failing the deploy. */
export function afterDeployPlanRefused(period: Duration): Metric {
  return serviceSum(METRIC_NAMES.afterDeployPlanRefused, period);
}

/** The sum of a metric the handlers emit with the service dimension only. */
function serviceSum(metricName: string, period: Duration): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: SERVICE_NAME },
    statistic: Stats.SUM,
    period,
  });
}

/** The lease handler's `LeaseBusy` count for executions of `kind`, with the dimensions it is emitted with. */
export function leaseBusy(kind: LeaseKind, period: Duration): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName: METRIC_NAMES.leaseBusy,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: SERVICE_NAME, [METRIC_DIMENSIONS.kind]: kind },
    statistic: Stats.SUM,
    period,
  });
}
