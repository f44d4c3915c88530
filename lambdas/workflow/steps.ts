/**
 * What each Task state does, given its dependencies. The Lambda entry points (lambdas/handlers/)
 * and the local runtime (lib/local/) call these same functions; only the dependencies differ
 * (Data API and DynamoDB in AWS, PGlite or PostgreSQL and dynalite on a laptop).
 */
import { z } from 'zod';
import { addDays, dateOf } from '../engine/dates';
import { EarlierDatesStaleError, HindsightError, InvalidInputError } from '../engine/errors';
import { type LeaseService, toLeaseGrant } from '../engine/lease';
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
import { readDueRange, recordDueDate } from '../ledger/due-dates';
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
  DailyInput,
  EarlierDatesChecked,
  ExecutionStatusChange,
  LeaseGrant,
  LeaseRequest,
  PreparedDate,
  ResolvedDate,
  StageTaskInput,
  StageTaskResult,
} from './contracts';
import { runStage } from './stage-runner';
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

const dailyInputSchema = z.strictObject(
  {
    date: isoDate.optional(),
    scheduledTime: z.iso.datetime({ error: 'an ISO-8601 instant such as 2026-01-31T02:00:00Z' }).optional(),
  },
  { error: 'an object: {} or {"date": "YYYY-MM-DD"}' },
);

/**
 * "Resolve Date": an explicit date wins; otherwise the day before the scheduled time (or now). The
 * date is recorded as due, so the auto plan reaches it even when this run writes nothing (it gives
 * up waiting for the lease, or is refused because earlier dates are stale).
 */
export async function resolveDate(
  deps: Pick<StepDependencies, 'now' | 'sql'>,
  raw: unknown,
): Promise<ResolvedDate> {
  const resolved = dailyRunDate(deps.now(), raw);
  await recordDueDate(deps.sql, resolved.date);
  return resolved;
}

/** The date a daily run is for, from its input and the clock. */
function dailyRunDate(now: Date, raw: unknown): ResolvedDate {
  const input: DailyInput = parseInput(dailyInputSchema, raw);
  const today = dateOf(now);
  if (input.date !== undefined) {
    if (input.date >= today) {
      throw InvalidInputError.of(
        'date',
        input.date,
        `a date up to yesterday (${addDays(today, -1)}); a day is processed once it is over`,
      );
    }
    return { date: input.date };
  }
  const reference = input.scheduledTime === undefined ? now : new Date(input.scheduledTime);
  const date = addDays(dateOf(reference), -1);
  if (date >= today) {
    throw InvalidInputError.of(
      'scheduledTime',
      input.scheduledTime,
      `an instant up to now (${now.toISOString()})`,
    );
  }
  return { date };
}

const leaseRequestSchema = z.strictObject(
  {
    action: z.enum(['acquire', 'renew', 'release'], { error: 'one of acquire, renew, release' }),
    kind: z.enum(['daily', 'backfill'], { error: 'one of daily, backfill' }),
    executionId,
    token: fenceToken.optional(),
  },
  { error: 'an object like {"action": "acquire", "kind": "daily", "executionId": "arn:…"}' },
);

/** The lease Lambda: "Acquire Lease", "Renew Lease", "Release Lease", and release on abort. */
export async function handleLease(
  deps: StepDependencies,
  raw: unknown,
): Promise<LeaseGrant | { released: boolean }> {
  if (isStatusChange(raw)) return releaseAfterAbort(deps, raw);
  const request: LeaseRequest = parseInput(leaseRequestSchema, raw);
  const now = deps.now().getTime();
  switch (request.action) {
    case 'acquire': {
      const lease = await deps.leases.acquire(request.kind, request.executionId, now);
      // A new owner moves the fence at once, so a displaced holder cannot commit even before
      // the new owner's first stage does.
      await raiseFence(deps.sql, lease.token);
      return toLeaseGrant(lease);
    }
    case 'renew': {
      if (request.token === undefined)
        throw InvalidInputError.of('token', undefined, 'the token returned by acquire');
      return toLeaseGrant(await deps.leases.renew(request.executionId, request.token, now));
    }
    case 'release':
      return release(deps, request.executionId, request.token);
  }
}

function isStatusChange(raw: unknown): raw is ExecutionStatusChange {
  if (raw === null || typeof raw !== 'object' || !('detail' in raw)) return false;
  const detail = raw.detail;
  return detail !== null && typeof detail === 'object' && 'executionArn' in detail;
}

/** A stopped execution runs no Catch: the status-change rule releases whatever lease it still holds. */
async function releaseAfterAbort(
  deps: StepDependencies,
  event: ExecutionStatusChange,
): Promise<{ released: boolean }> {
  const holder = parseInput(executionId, event.detail.executionArn, 'detail.executionArn');
  return release(deps, holder);
}

/**
 * Releases the lease and moves the fence past its token, so a late Task of the releasing
 * execution (a redrive, a zombie) cannot commit while nobody holds the lease.
 */
async function release(
  deps: StepDependencies,
  holder: string,
  token?: number,
): Promise<{ released: boolean }> {
  const result = await deps.leases.release(holder, token);
  if (result.released) await raiseFence(deps.sql, result.token + 1);
  return { released: result.released };
}

const checkEarlierDatesSchema = z.strictObject(
  { date: isoDate },
  { error: 'an object like {"date": "2026-01-31"} (the date of the daily run)' },
);

/**
 * "Check Earlier Dates": under the daily lease, before any stage, refuse to run on top of earlier
 * dates the auto plan would rewrite (EarlierDatesStaleError). One bounded ledger read: the dates the
 * run depends on and their own windows, plus the first date, where history starts.
 */
export async function checkEarlierDates(
  deps: Pick<StepDependencies, 'sql' | 'pipeline'>,
  raw: unknown,
): Promise<EarlierDatesChecked> {
  const { date }: CheckEarlierDatesInput = parseInput(checkEarlierDatesSchema, raw);
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
  deps: StepDependencies,
  raw: unknown,
): Promise<{ readonly dryRun: boolean; readonly plan: BackfillPlan }> {
  const today = dateOf(deps.now());
  const input = parseBackfillInput(raw, deps.pipeline, today, deps.maxBackfillDays);
  const ledger = (await readLedger(deps.sql)).map(toEntry);
  const plan = planBackfill({
    ...input,
    pipeline: deps.pipeline,
    ledger,
    due: await readDueRange(deps.sql),
    today,
    maxDays: deps.maxBackfillDays,
    transitions: deps.transitions,
    appliedTransitions: deps.transitions.length > 0 ? await readAppliedTransitions(deps.sql) : new Map(),
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
export async function validateAndPlan(deps: StepDependencies, raw: unknown): Promise<BackfillPlanResult> {
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
      .number({ error: "a whole number from 0 (the date's position in the plan)" })
      .int({ error: "a whole number from 0 (the date's position in the plan)" })
      .min(0, { error: "a whole number from 0 (the date's position in the plan)" }),
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
 * "Prepare Date": read the planned date, check that the one before it is done, then hold the lease
 * (renew it; re-take it when a redrive finds it released; fail if another execution has it) and
 * apply transitions.
 */
export async function prepareDate(deps: StepDependencies, raw: unknown): Promise<PreparedDate> {
  const { position, executionId: execution } = parseInput(prepareDateSchema, raw);
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
    const last = (previous.stages ?? plannedFrom(deps.pipeline, previous.startStage)).at(-1) ?? previous.startStage;
    if ((await readLastExecution(deps.sql, previous.date, last)) !== execution) {
      throw new EarlierDateNotDoneError(
        `Backfill date ${current.date} did not start: the planned date before it, ${previous.date}, ` +
          'is not done (it failed or was skipped), and later dates depend on it. ' +
          'Start the backfill again ({"mode": "auto"}): it resumes from what is still stale.',
      );
    }
  }
  // The lease after the predecessor check: an item that outlived its failed execution (queued, or
  // in flight when the Map failed) stops there, and cannot take back the lease the failure released.
  const lease = await deps.leases.acquire('backfill', execution, deps.now().getTime());
  // Re-entered, the token is the one this execution's acquire already raised the fence to.
  if (lease.outcome !== 'reentered') await raiseFence(deps.sql, lease.token);
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

/** "Run <Stage>": one stage for one date, fenced by the lease token. */
export async function runStageTask(
  deps: StepDependencies,
  stage: string,
  raw: unknown,
): Promise<StageTaskResult> {
  const input: StageTaskInput = parseInput(stageTaskSchema(), raw);
  const result = await runStage(
    deps.sql,
    deps.pipeline,
    { stage, date: input.date, fenceToken: input.token, executionId: input.executionId },
    deps.params,
  );
  return {
    stage: result.stage,
    date: result.date,
    version: result.version,
    runId: result.runId,
    rowsWritten: result.rowsWritten,
  };
}
