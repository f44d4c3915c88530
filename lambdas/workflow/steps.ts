/**
 * What each Task state does, given its dependencies. The Lambda entry points (lambdas/handlers/)
 * and the local runtime (lib/local/) call these same functions; only the dependencies differ
 * (Data API and DynamoDB in AWS, PGlite or PostgreSQL and dynalite on a laptop).
 */
import * as z from 'zod/mini';
import { dateOf } from '../engine/dates';
import {
  EarlierDatesStaleError,
  type FieldNames,
  HindsightError,
  InvalidInputError,
  START_AUTO_BACKFILL,
} from '../engine/errors';
import type { LeaseService } from '../engine/lease';
import type { Pipeline } from '../engine/pipeline';
import {
  type BackfillPlan,
  dependencyConflicts,
  dependencyReadRange,
  dependencyWindow,
  formatDependencyConflicts,
  formatPlan,
  indexLedger,
  parseBackfillInput,
  planBackfill,
} from '../engine/plan';
import { executionId, fenceToken, isoDate, parseInput } from '../engine/schemas';
import type { SqlClient } from '../engine/sql';
import type { PipelineParams } from '../engine/stage';
import type { Transition } from '../engine/transition';
import { PLAN_RETENTION_DAYS, readPlannedDateAndPrevious, saveBackfillPlan } from '../ledger/backfill-plans';
import { readDueRange } from '../ledger/due-dates';
import { raiseFence } from '../ledger/fence';
import {
  readAppliedTransitions,
  readLastExecution,
  readLedger,
  readLedgerWindow,
  toEntry,
} from '../ledger/ledger-store';
import type {
  BackfillPlanResult,
  CheckEarlierDatesInput,
  EarlierDatesChecked,
  PreparedDate,
  StageTaskInput,
  StageTaskResult,
} from './contracts';
import { runStage, stageRunRequestSchema } from './stage-runner';
import { applyTransitions } from './transition-runner';

/** Everything the steps need from the outside world. */
export interface StepDependencies {
  readonly sql: SqlClient;
  readonly pipeline: Pipeline;
  readonly params: PipelineParams;
  readonly leases: LeaseService;
  /** One-off per-date fixes, applied by "Prepare Date" before a date reruns. */
  readonly transitions: readonly Transition[];
  /** The longest range a backfill may cover, in days. */
  readonly maxBackfillDays: number;
  readonly now: () => Date;
}

/**
 * What the steps that never take or keep the lease need (planning, the after-deploy trigger): their
 * Lambdas are granted no lease table, so their bundles carry no DynamoDB or Step Functions client.
 */
export type LeaselessDependencies = Omit<StepDependencies, 'leases'>;

const checkEarlierDatesSchema = z.strictObject(
  { date: isoDate, executionId: z.optional(executionId), token: z.optional(fenceToken) },
  {
    error:
      'an object like {"date": "2026-01-31"} (the date of the daily run; the workflow adds its executionId and lease token)',
  },
);

/**
 * "Check Earlier Dates": under the daily lease, before any stage, refuse to run on top of earlier
 * dates the auto plan would rewrite (EarlierDatesStaleError). One bounded ledger read: the dates the
 * run depends on and their own windows, plus the first date, where history starts. Given the
 * holder and its token (the workflow passes them), it renews the lease first, as every Task under
 * the lease does.
 */
export async function checkEarlierDates(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'leases' | 'now'>,
  raw: unknown,
): Promise<EarlierDatesChecked> {
  const {
    date,
    executionId: holder,
    token,
  }: CheckEarlierDatesInput = parseInput(checkEarlierDatesSchema, raw);
  if (holder !== undefined || token !== undefined) {
    if (holder === undefined || token === undefined) {
      throw InvalidInputError.of(
        holder === undefined ? 'executionId' : 'token',
        undefined,
        'both executionId and token (the lease to renew), or neither',
      );
    }
    await deps.leases.renew(holder, token, deps.now().getTime());
  }
  const range = dependencyReadRange(deps.pipeline, date);
  if (range === null) return { date, checked: null };
  const ledger = (await readLedgerWindow(deps.sql, range)).map(toEntry);
  const index = indexLedger(deps.pipeline, ledger);
  const conflicts = dependencyConflicts(index, date);
  if (conflicts.length > 0) {
    throw new EarlierDatesStaleError(
      date,
      conflicts.map((conflict) => conflict.date),
      formatDependencyConflicts(conflicts, deps.pipeline),
    );
  }
  return { date, checked: dependencyWindow(index, date) };
}

/**
 * The backfill input, checked, and its plan: one read of the ledger, of the due dates' range, and of
 * the applied transitions when there are transitions. Used by "Validate And Plan", `hindsight plan`
 * and the after-deploy trigger.
 */
export async function computePlan(
  deps: LeaselessDependencies,
  raw: unknown,
  names?: FieldNames,
): Promise<{ readonly dryRun: boolean; readonly plan: BackfillPlan }> {
  const today = dateOf(deps.now());
  const input = parseBackfillInput(raw, deps.pipeline, today, deps.maxBackfillDays, names);
  const ledger = (await readLedger(deps.sql)).map(toEntry);
  const plan = planBackfill({
    ...input,
    // Given as startStage, the stages go back as startStage, so a refusal names the field the input used.
    ...(input.mode === 'explicit' && input.stagesField === 'startStage'
      ? { startStage: input.stages[0], stages: undefined }
      : {}),
    pipeline: deps.pipeline,
    ledger,
    due: await readDueRange(deps.sql),
    today,
    maxDays: deps.maxBackfillDays,
    transitions: deps.transitions,
    appliedTransitions: deps.transitions.length > 0 ? await readAppliedTransitions(deps.sql) : new Map(),
    ...(names === undefined ? {} : { names }),
  });
  return { dryRun: input.dryRun, plan };
}

const validateAndPlanSchema = z.strictObject(
  { request: z.unknown(), executionId },
  { error: 'an object like {"request": {"mode": "auto"}, "executionId": "arn:…"}' },
);

/** Runs of dates the plan summary in the state shows: a plan of many short runs would otherwise fill it. */
export const SUMMARY_RUNS = 30;

/**
 * "Validate And Plan": the console input, checked, then the plan. The planned dates are stored
 * under the execution's id; the Map's items are only their positions.
 */
export async function validateAndPlan(
  deps: LeaselessDependencies,
  raw: unknown,
): Promise<BackfillPlanResult> {
  const { request, executionId: execution } = parseInput(validateAndPlanSchema, raw);
  const { dryRun, plan } = await computePlan(deps, request);
  const carriedOut = !dryRun && plan.dates.length > 0;
  if (carriedOut) await saveBackfillPlan(deps.sql, execution, plan.dates);
  return {
    dryRun,
    positions: carriedOut ? plan.dates.map((_, position) => position) : [],
    firstDate: plan.dates[0]?.date ?? null,
    lastDate: plan.dates.at(-1)?.date ?? null,
    totals: plan.totals,
    summary: formatPlan(plan, deps.pipeline, { maxRuns: SUMMARY_RUNS }),
  };
}

const prepareDateSchema = z.strictObject(
  {
    position: z
      .int({ error: "a whole number from 0 (the date's position in the plan)" })
      .check(z.minimum(0, { error: "a whole number from 0 (the date's position in the plan)" })),
    executionId,
    token: fenceToken,
  },
  { error: 'an object like {"position": 0, "executionId": "arn:…", "token": 3}' },
);

/** An earlier planned date of this backfill has not finished: later dates depend on it. */
export class EarlierDateNotDoneError extends HindsightError {}

/** The backfill has no stored plan date at this position (it was not planned by this execution). */
export class PlannedDateNotFoundError extends HindsightError {}

/**
 * "Prepare Date": renew the lease this execution holds (before anything else, so the lease covers
 * this whole Task), read the planned date, check that the one before it is done, then hold the
 * lease (re-take it when a redrive finds it released; fail if another execution has it), move the
 * fence to its token and apply transitions.
 */
export async function prepareDate(deps: StepDependencies, raw: unknown): Promise<PreparedDate> {
  const { position, executionId: execution } = parseInput(prepareDateSchema, raw);
  try {
    return await prepareLeasedDate(deps, position, execution);
  } catch (error) {
    throw surfaceResuming(error);
  }
}

async function prepareLeasedDate(
  deps: StepDependencies,
  position: number,
  execution: string,
): Promise<PreparedDate> {
  const held = await deps.leases.renewIfHeld(execution, deps.now().getTime());
  const { current, previous } = await readPlannedDateAndPrevious(deps.sql, execution, position);
  if (current === undefined || (position > 0 && previous === undefined)) {
    throw new PlannedDateNotFoundError(
      `Backfill ${execution} has no planned date at position ${position}: its plan was not stored ` +
        `by "Validate And Plan", or is older than ${PLAN_RETENTION_DAYS} days. Start the backfill again.`,
    );
  }
  // Stored before stage graphs, a date reran everything from its start stage on.
  const stages = current.stages ?? plannedFrom(deps.pipeline, current.startStage);
  const unknown = stages.filter((stage) => !deps.pipeline.names.includes(stage));
  if (unknown.length > 0) {
    throw InvalidInputError.of(
      'stages',
      unknown,
      `stages among ${deps.pipeline.names.join(', ')} (the plan was made with other code; start the backfill again)`,
    );
  }
  if (previous !== undefined) {
    // Stages run in pipeline order: the date is done when the last one it planned is.
    const last =
      (previous.stages ?? plannedFrom(deps.pipeline, previous.startStage)).at(-1) ?? previous.startStage;
    if ((await readLastExecution(deps.sql, previous.date, last)) !== execution) {
      throw new EarlierDateNotDoneError(
        `Backfill date ${current.date} did not start: the planned date before it, ${previous.date}, ` +
          'is not done (it failed or was skipped), and later dates depend on it. ' +
          `${START_AUTO_BACKFILL} again: it resumes from what is still stale.`,
      );
    }
  }
  // Held and just renewed, the lease is this execution's for the whole Task. Otherwise (a redrive
  // finds it released) it is taken after the predecessor check: an item that outlived its failed
  // execution (queued, or in flight when the Map failed) stops there, and cannot take back the
  // lease the failure released.
  const lease = held ?? (await deps.leases.acquire('backfill', execution, deps.now().getTime()));
  // Always, re-entered too: a takeover whose answer was lost, or whose fence raise failed before a
  // retry, comes back as a re-entry, and the displaced holder must be fenced off all the same.
  // One statement, which changes nothing when the fence is at the token already.
  await raiseFence(deps.sql, lease.token);
  const transitionsApplied = await applyTransitions(deps.sql, deps.pipeline, deps.transitions, {
    date: current.date,
    stages,
    fenceToken: lease.token,
    executionId: execution,
  });
  return {
    date: current.date,
    startStage: stages[0] ?? current.startStage,
    stages,
    runs: Object.fromEntries(deps.pipeline.names.map((name) => [name, stages.includes(name)])),
    token: lease.token,
    transitionsApplied,
  };
}

/** What a date planned from `startStage` reruns when its plan did not store the set. */
function plannedFrom(pipeline: StepDependencies['pipeline'], startStage: string): string[] {
  return pipeline.names.includes(startStage) ? pipeline.downstreamOf([startStage]) : [startStage];
}

function stageTaskSchema() {
  return z.strictObject(
    { date: isoDate, token: fenceToken, executionId },
    { error: 'an object like {"date": "2026-01-31", "token": 3, "executionId": "arn:…"}' },
  );
}

/**
 * "Run <Stage>": one stage for one date, fenced by the lease token. First it renews the lease as
 * the holder its input names, with the token its input carries: the lease then covers this whole
 * Task (a healthy run never loses it to expiry), and a token the lease item does not hold — a
 * forged or stale one — is refused with `LeaseLostError` before it can move the fence. Stages that
 * follow each other within the renew interval skip the read (`LeaseService.keep`).
 */
export async function runStageTask(
  deps: StepDependencies,
  stage: string,
  raw: unknown,
): Promise<StageTaskResult> {
  const input: StageTaskInput = parseInput(stageTaskSchema(), raw);
  const request = parseInput(stageRunRequestSchema(deps.pipeline), {
    stage,
    date: input.date,
    fenceToken: input.token,
    executionId: input.executionId,
  });
  await deps.leases.keep(input.executionId, input.token, deps.now().getTime());
  const result = await runStage(deps.sql, deps.pipeline, request, deps.params).catch((error: unknown) => {
    throw surfaceResuming(error);
  });
  return {
    stage: result.stage,
    date: result.date,
    version: result.version,
    runId: result.runId,
    rowsWritten: result.rowsWritten,
  };
}

/** The error name of `DatabaseStillResumingError` (lambdas/adapters/data-api-sql.ts), which the workflows retry. */
export const DATABASE_STILL_RESUMING = 'DatabaseStillResumingError';

/**
 * The paused cluster's error itself when it is the cause of `error` (a stage or a transition wraps
 * what it throws), so the Task fails with the name its Retry matches; otherwise `error`.
 */
function surfaceResuming(error: unknown): unknown {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (cause.name === DATABASE_STILL_RESUMING) return cause;
    cause = cause.cause;
  }
  return error;
}
