/**
 * The payloads that cross Step Functions states. The state machine definitions (lib/), the
 * Lambda entry points (lambdas/handlers/) and the local runtime (local/) all agree on these.
 *
 * Every Task passes its whole state as the Lambda payload and puts the result under its own
 * key (ResultPath), so later states can read earlier results: `$.lease.token`, `$.plan.positions`.
 */
import type { IsoDate } from '../engine/dates';
import type { LeaseKind } from '../engine/lease-types';

export type { LeaseGrant, LeaseKind } from '../engine/lease-types';

/** Daily state machine input: `{}` from the schedule (with `scheduledTime`), or `{"date": "YYYY-MM-DD"}`. */
export interface DailyInput {
  readonly date?: IsoDate;
  /** Set by the EventBridge rule's target input: the rule's event `time`. */
  readonly scheduledTime?: string;
  /**
   * Run a date before the history start minus the dependency reach, or more than
   * `hindsight:maxBackfillDays` back: refused without it, so one mistyped date cannot plan years.
   */
  readonly extendHistory?: boolean;
}

/** Task "Resolve Date" → ResultPath `$.resolved`. */
export interface ResolvedDate {
  readonly date: IsoDate;
}

/** Payload of Task "Check Earlier Dates" (the daily run, under the lease, before its first stage). */
export interface CheckEarlierDatesInput {
  readonly date: IsoDate;
  /** The holder (`$$.Execution.Id`) and its token (`$.lease.token`): the Task renews the lease first. */
  readonly executionId?: string;
  readonly token?: number;
}
/**
 * Result → ResultPath `$.earlierDates`. When an earlier date the run reads is planned to be
 * rewritten, the Task fails with error `EarlierDatesStaleError` instead.
 */
export interface EarlierDatesChecked {
  readonly date: IsoDate;
  /** The earlier dates found fresh (clipped to the history start); null when there were none to check. */
  readonly checked: { readonly from: IsoDate; readonly to: IsoDate } | null;
}

/** Payload of the lease Lambda (Tasks "Acquire Lease", "Renew Lease", "Release Lease"). */
export interface LeaseRequest {
  readonly action: 'acquire' | 'renew' | 'release';
  readonly kind: LeaseKind;
  /** `$$.Execution.Id` of the workflow holding (or asking for) the lease. */
  readonly executionId: string;
  /**
   * For renew: the token returned by acquire. A release may leave it out (the workflows do): it then
   * releases whatever lease `executionId` holds, whichever token it was re-taken under.
   */
  readonly token?: number;
}

// Result of acquire/renew → ResultPath `$.lease`: a LeaseGrant. Acquire fails with error `LeaseHeldError` when busy.

/** Backfill state machine input, as typed in the console. Validated by the engine's schema. */
export interface BackfillInput {
  readonly mode?: 'auto' | 'explicit';
  readonly from?: IsoDate;
  readonly to?: IsoDate;
  readonly startStage?: string;
  readonly dryRun?: boolean;
}

/**
 * Payload of "Validate And Plan": the console input as typed, and the execution, under whose id
 * the plan is stored (`hindsight_backfill_plans`).
 */
export interface ValidateAndPlanInput {
  readonly request: unknown;
  readonly executionId: string;
}

/**
 * Task "Validate And Plan" → ResultPath `$.plan`. Invalid input fails with error `InvalidInputError`.
 * The planned dates themselves are stored in the database, not carried in the state: Step
 * Functions limits a state's data to 256 KiB, which a plan of ten years would pass.
 */
export interface BackfillPlanResult {
  readonly dryRun: boolean;
  /** The Distributed Map's items: 0 … dates - 1 (empty for a dry run). */
  readonly positions: readonly number[];
  /** First and last planned dates (null when nothing is planned). */
  readonly firstDate: IsoDate | null;
  readonly lastDate: IsoDate | null;
  readonly totals: {
    readonly dates: number;
    readonly stageRuns: number;
    readonly fullRerunStageRuns: number;
  };
  /** Human summary, for the console and the deploy log; cut short for a very long plan. */
  readonly summary: string;
}

/**
 * Map item input (ItemSelector): the date's position in the stored plan, the backfill's
 * execution id and the lease token. Task "Prepare Date" renews the lease, reads the planned date,
 * checks the one before it is done and applies pending transitions → ResultPath `$.prepared`.
 *
 * Every item checks its predecessor, so every earlier date is done before a date runs: a Map that
 * starts queued items after a failure, as the local runner does, cannot skip ahead.
 */
export interface PrepareDateInput {
  readonly position: number;
  readonly executionId: string;
  readonly token: number;
}
export interface PreparedDate {
  readonly date: IsoDate;
  /** The first stage the date reruns. */
  readonly startStage: string;
  /** The stages the date reruns, in pipeline order. */
  readonly stages: readonly string[];
  /** Every deployed stage: whether the date reruns it (what each "Run <Stage>?" Choice reads). */
  readonly runs: Readonly<Record<string, boolean>>;
  /** Token to fence this date's stage transactions with (renewed, or re-taken after a redrive). */
  readonly token: number;
  readonly transitionsApplied: readonly string[];
}

/**
 * Payload of a stage Lambda (Task "Run <Stage>"). Result → ResultPath `$.stages.<stage>`. The Task
 * first renews the lease held by `executionId` with `token`, failing with `LeaseLostError` when
 * the lease item holds neither (released, taken over, or a token it never granted).
 */
export interface StageTaskInput {
  readonly date: IsoDate;
  readonly token: number;
  readonly executionId: string;
}
export interface StageTaskResult {
  readonly stage: string;
  readonly date: IsoDate;
  readonly version: number;
  readonly runId: string;
  readonly rowsWritten: number;
}

/** EventBridge "Step Functions Execution Status Change" detail, as much as the release needs. */
export interface ExecutionStatusChange {
  readonly detail: {
    readonly executionArn: string;
    readonly status: string;
    readonly stateMachineArn: string;
  };
}
