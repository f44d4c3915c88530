import type { Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DistributedMap,
  Errors,
  Fail,
  JsonPath,
  type QueryLanguage,
  type StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { PrepareDateInput, ValidateAndPlanInput } from '../lambdas/workflow/contracts';
import { BACKFILL_STATES } from './backfill-states';
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

export { BACKFILL_STATES } from './backfill-states';

/**
 * A Distributed Map that writes its zero failure thresholds out (CDK drops falsy ones): a failed
 * date fails the Map, since later dates depend on it, and the console shows that it does.
 */
class FailFastDistributedMap extends DistributedMap {
  override toStateJson(queryLanguage?: QueryLanguage): object {
    return { ...super.toStateJson(queryLanguage), ToleratedFailureCount: 0, ToleratedFailurePercentage: 0 };
  }
}

export interface BackfillWorkflowProps {
  readonly pipeline: Pipeline;
  readonly functions: HindsightFunctions;
  /** How long "Acquire Lease" keeps retrying while a daily run holds the lease. */
  readonly leaseWait: Duration;
  /**
   * How long execution logs are kept.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The backfill: validate and plan the console input (refusing bad input before any lease), stop
 * there for a dry run or an empty plan, take the lease, then run each planned date in order, one
 * child execution at a time, each running the stages planned for it. A failed date
 * fails the Map, which releases the lease and fails the backfill; starting it again resumes from
 * a new plan.
 */
export class BackfillWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BackfillWorkflowProps) {
    super(scope, id);
    const { functions, pipeline } = props;

    // The execution's input as typed (which need not be an object), and the id the plan is stored under.
    const planInput: { readonly [K in keyof ValidateAndPlanInput]: string } = {
      request: JsonPath.executionInput,
      executionId: JsonPath.executionId,
    };
    const plan = invoke(this, BACKFILL_STATES.validateAndPlan, functions.plan, {
      payload: TaskInput.fromObject(planInput),
      resultPath: '$.plan',
    });
    // The error replaces the state (no ResultPath means $): the input may not even be an object to
    // add it to. Left implicit because aws-local-stepfunctions mishandles an explicit "$".
    plan.addCatch(
      new Fail(this, BACKFILL_STATES.refuseInvalidInput, { errorPath: '$.Error', causePath: '$.Cause' }),
      { errors: [ERRORS.invalidInput] },
    );

    const acquire = acquireLease(this, functions, 'backfill', props.leaseWait);
    acquire.addCatch(
      new Fail(this, BACKFILL_STATES.gaveUp, {
        error: ERRORS.gaveUpWaitingForLease,
        cause: `A daily run held the lease for longer than ${props.leaseWait.toHumanString()}; nothing was backfilled. Start the backfill again.`,
      }),
      { errors: [ERRORS.leaseHeld], resultPath: '$.error' },
    );

    const itemInput: { readonly [K in keyof PrepareDateInput]: string | number } = {
      position: JsonPath.numberAt('$$.Map.Item.Value'),
      executionId: JsonPath.executionId,
      token: JsonPath.numberAt('$.lease.token'),
    };
    const eachDate = new FailFastDistributedMap(this, BACKFILL_STATES.backfillEachDate, {
      itemsPath: '$.plan.positions',
      itemSelector: itemInput,
      maxConcurrency: 1,
      toleratedFailureCount: 0,
      toleratedFailurePercentage: 0,
      mapExecutionType: StateMachineType.STANDARD,
      resultPath: JsonPath.DISCARD,
    });
    eachDate.itemProcessor(this.dateProcessor(pipeline, functions));
    eachDate.addCatch(
      releaseLease(this, BACKFILL_STATES.releaseAfterFailure, functions, 'backfill').next(
        failWithCaughtError(this, BACKFILL_STATES.failBackfill),
      ),
      { errors: [Errors.ALL], resultPath: '$.error' },
    );

    const definition = plan.next(
      new Choice(this, BACKFILL_STATES.dryRun)
        .when(
          Condition.booleanEquals('$.plan.dryRun', true),
          new Succeed(this, BACKFILL_STATES.showPlanOnly, { outputPath: '$.plan' }),
        )
        .otherwise(
          new Choice(this, BACKFILL_STATES.anythingToDo)
            .when(
              Condition.numberEquals('$.plan.totals.dates', 0),
              new Succeed(this, BACKFILL_STATES.skipEmptyPlan, { outputPath: '$.plan' }),
            )
            .otherwise(
              acquire
                .next(eachDate)
                .next(releaseLease(this, BACKFILL_STATES.releaseLease, functions, 'backfill'))
                .next(new Succeed(this, BACKFILL_STATES.finish, { outputPath: '$.plan' })),
            ),
        ),
    );

    this.stateMachine = createStateMachine(this, 'StateMachine', {
      kind: 'backfill',
      comment: 'Hindsight backfill: planned dates in order, one at a time, each its planned stages.',
      definition,
      invokes: [...functions.stages.values(), functions.plan, functions.lease, functions.prepareDate],
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
  }

  /**
   * One date, as a child execution: prepare it, then run exactly the stages its plan lists, in
   * pipeline order: each stage behind a Choice "Run <Stage>?" on `$.prepared.runs`. A stage failure
   * fails the date (the lease is released outside).
   */
  private dateProcessor(pipeline: Pipeline, functions: HindsightFunctions) {
    // It renews the lease before anything else (re-takes it after a redrive), like every Task under it.
    const prepare = renewsLease(
      invoke(this, BACKFILL_STATES.prepareDate, functions.prepareDate, { resultPath: '$.prepared' }),
    );
    const stages = new StageChain(this, {
      pipeline,
      functions,
      input: { date: '$.prepared.date', token: '$.prepared.token', executionId: '$.executionId' },
      onFailure: failWithCaughtError(this, BACKFILL_STATES.failDate),
      next: new Succeed(this, BACKFILL_STATES.finishDate),
      runIf: (stage) => Condition.booleanEquals(`$.prepared.runs.${stage}`, true),
    });
    return prepare.next(stages.first);
  }
}
