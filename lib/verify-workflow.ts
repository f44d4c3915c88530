import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  Fail,
  JsonPath,
  Map as MapState,
  type StateMachine,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { VerifyRequest } from '../lambdas/engine/verify';
import type { VerifyDateInput } from '../lambdas/workflow/verify-tasks';
import { DEFAULT_VERIFY_SAMPLE } from './config';
import type { HindsightDatabase } from './database';
import type { HindsightFunctions } from './functions';
import { createStateMachine } from './state-machine';
import { ERRORS, invoke } from './workflow-states';

/** State names of the Verify workflow. */
export const VERIFY_STATES = {
  chooseDates: 'Choose Dates To Verify',
  refuseInvalidInput: 'Refuse Invalid Input',
  verifyEachDate: 'Verify Each Date',
  verifyDate: 'Verify Date',
  report: 'Report Verification',
  anythingDiffers: 'Anything Differs?',
  differs: 'Stored Data Differs',
  same: 'Stored Data Is Same',
} as const;

/** The error a Verify execution fails with when a cell differs or could not be recomputed. */
export const STORED_DATA_DIFFERS_ERROR = 'StoredDataDiffersError';

export interface VerifyWorkflowProps {
  readonly functions: HindsightFunctions;
  readonly database: HindsightDatabase;
  /**
   * EventBridge schedule expression that starts a verification of `sample` dates.
   * @default - no schedule: start it from the console
   */
  readonly schedule?: string;
  /**
   * Dates a scheduled run draws at random from the last 30 of the ledger.
   * @default 30
   */
  readonly sample?: number;
  /**
   * How long execution logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The Verify workflow: does what is stored equal what the deployed code computes? Console input:
 * `{}` (the last 30 dates), `{"sample": 30}`, `{"from", "to", "stages", "sample", "seed"}`. Choose
 * the dates (one ledger read; fresh cells only), then one "Verify Date" per date, in order, each
 * stage recomputed in a rolled-back transaction, then the totals as the `VerifyDifferences` metric.
 * It fails with `StoredDataDiffersError` when anything differs. It takes no lease and writes
 * nothing, so it may run beside a backfill.
 */
export class VerifyWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly function: NodejsFunction;
  /** The rule that starts it on `schedule`, when there is one. */
  readonly schedule?: Rule;

  constructor(scope: Construct, id: string, props: VerifyWorkflowProps) {
    super(scope, id);
    const fn = props.functions.defineVerify();
    // It recomputes stages inside transactions it rolls back: the Data API, and no lease table.
    props.database.grantDataApiAccess(fn);
    this.function = fn;

    const choose = invoke(this, VERIFY_STATES.chooseDates, fn, {
      payload: TaskInput.fromObject({ action: 'choose', request: JsonPath.executionInput }),
      resultPath: '$.chosen',
    });
    // No ResultPath: the error replaces the state, which may not even be an object (as in the backfill).
    choose.addCatch(
      new Fail(this, VERIFY_STATES.refuseInvalidInput, { errorPath: '$.Error', causePath: '$.Cause' }),
      { errors: [ERRORS.invalidInput] },
    );

    // The item: the date and its fresh cells' stages, and where input history starts (as in `status`).
    const item: Record<keyof VerifyDateInput | 'historyStart', string | string[]> = {
      date: JsonPath.stringAt('$$.Map.Item.Value.date'),
      stages: JsonPath.listAt('$$.Map.Item.Value.stages'),
      historyStart: JsonPath.stringAt('$.chosen.historyStart'),
    };
    const eachDate = new MapState(this, VERIFY_STATES.verifyEachDate, {
      itemsPath: '$.chosen.items',
      itemSelector: item,
      // One date at a time: the check reads and recomputes in the live database, gently.
      maxConcurrency: 1,
      resultPath: '$.verified',
    });
    eachDate.itemProcessor(
      invoke(this, VERIFY_STATES.verifyDate, fn, {
        payload: TaskInput.fromObject({
          action: 'date',
          date: JsonPath.stringAt('$.date'),
          stages: JsonPath.listAt('$.stages'),
          historyStart: JsonPath.stringAt('$.historyStart'),
        }),
        // The counts go on; the rows of a difference are in the Task's output and its log line.
        resultSelector: { 'date.$': '$.date', 'counts.$': '$.counts', 'differing.$': '$.differing' },
        resultPath: '$',
      }),
    );

    const report = invoke(this, VERIFY_STATES.report, fn, {
      payload: TaskInput.fromObject({
        action: 'report',
        chosen: JsonPath.objectAt('$.chosen'),
        verified: JsonPath.listAt('$.verified'),
      }),
      resultPath: '$.report',
    });

    const definition = choose
      .next(eachDate)
      .next(report)
      .next(
        new Choice(this, VERIFY_STATES.anythingDiffers)
          .when(
            Condition.booleanEquals('$.report.differs', true),
            new Fail(this, VERIFY_STATES.differs, {
              error: STORED_DATA_DIFFERS_ERROR,
              causePath: '$.report.summary',
            }),
          )
          .otherwise(new Succeed(this, VERIFY_STATES.same, { outputPath: '$.report' })),
      );

    this.stateMachine = createStateMachine(this, 'StateMachine', {
      kind: 'verify',
      comment:
        'Hindsight verify: recompute a sample of fresh (date, stage) cells in rolled-back transactions and compare.',
      definition,
      invokes: [fn],
      timeout: Duration.hours(12),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });

    if (props.schedule !== undefined) {
      const input: VerifyRequest = { sample: props.sample ?? DEFAULT_VERIFY_SAMPLE };
      this.schedule = new Rule(this, 'Schedule', {
        description: `Starts the Hindsight Verify workflow over ${input.sample} dates drawn from the last 30.`,
        schedule: Schedule.expression(props.schedule),
      });
      this.schedule.addTarget(
        new SfnStateMachine(this.stateMachine, {
          input: RuleTargetInput.fromObject(input),
          retryAttempts: 2,
        }),
      );
    }
  }
}
