import { addDays, dateRange, daysBetween, type IsoDate } from '../dates';
import { type FieldNames, fieldName, InvalidInputError } from '../errors';
import type { LedgerEntry } from '../ledger';
import type { Pipeline } from '../pipeline';
import { type Transition, transitionsFor } from '../transition';
import { type BackfillMode, parseBackfillInput } from './backfill-input';
import { historyStartOf, indexLedger, type LedgerIndex, type PlanReason, walk } from './staleness';

/** Everything `planBackfill` needs: the backfill input's fields, the code, one read of the ledger, today. */
export interface PlanBackfillRequest {
  readonly pipeline: Pipeline;
  readonly ledger: readonly LedgerEntry[];
  readonly mode: BackfillMode;
  readonly from?: IsoDate;
  readonly to?: IsoDate;
  readonly startStage?: string;
  readonly stages?: readonly string[];
  /** The current date; the plan accepts dates up to the day before. */
  readonly today: IsoDate;
  /** The longest range a backfill may cover, in days. */
  readonly maxDays: number;
  /** The transitions in the code; each planned date lists those it will get. */
  readonly transitions?: readonly Transition[];
  /** Transition ids already applied, by date (from `hindsight_transitions_applied`). */
  readonly appliedTransitions?: ReadonlyMap<IsoDate, ReadonlySet<string>>;
  /**
   * The first and last dates the daily workflow was started for (`hindsight_due_dates`). Auto mode
   * without a range covers them too, so a date whose daily run wrote nothing is planned as missing.
   */
  readonly due?: { readonly from: IsoDate; readonly to: IsoDate } | null;
  /** How the entry point spells the input's fields, for its refusals: the CLI's flags; the JSON fields by default. */
  readonly names?: FieldNames;
}

/** One date of a plan: it reruns exactly `stages`, in pipeline order. */
export interface PlannedDate {
  readonly date: IsoDate;
  /** The first of `stages`: for a chain, where the date enters it (every later stage reruns too). */
  readonly startStage: string;
  readonly stages: readonly string[];
  readonly reasons: readonly PlanReason[];
  /** Ids of the transitions applied to this date before it reruns, in order. */
  readonly transitions: readonly string[];
}

/** A backfill plan: plain data, computed without side effects, carried out by the backfill workflow. */
export interface BackfillPlan {
  readonly mode: BackfillMode;
  /** The range considered; null only in auto mode with an empty ledger and no range given. */
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  /** Ascending; fresh dates are left out. */
  readonly dates: readonly PlannedDate[];
  /** Dates of the range left out because every stage is fresh. */
  readonly skipped: number;
  readonly totals: {
    readonly dates: number;
    readonly stageRuns: number;
    /** (dates in the range) × (stages): what rerunning everything would cost. */
    readonly fullRerunStageRuns: number;
  };
}

/** Computes which dates rerun and which of their stages. Validates the request first (InvalidInputError). */
export function planBackfill(request: PlanBackfillRequest): BackfillPlan {
  const { pipeline, today, maxDays } = request;
  const input = parseBackfillInput(
    {
      mode: request.mode,
      from: request.from,
      to: request.to,
      startStage: request.startStage,
      stages: request.stages,
    },
    pipeline,
    today,
    maxDays,
    request.names,
  );
  const index = indexLedger(pipeline, request.ledger);
  const plan =
    input.mode === 'explicit'
      ? planExplicit(index, input, request.names)
      : planAuto(index, input, maxDays, dueUpTo(request.due ?? null, addDays(today, -1)), request.names);
  const transitions = request.transitions ?? [];
  if (transitions.length === 0) return plan;
  const none = new Set<string>();
  return {
    ...plan,
    dates: plan.dates.map((date) => ({
      ...date,
      transitions: transitionsFor(
        pipeline,
        transitions,
        date.stages,
        request.appliedTransitions?.get(date.date) ?? none,
      ).map((transition) => transition.id),
    })),
  };
}

function planAuto(
  index: LedgerIndex,
  input: { from?: IsoDate; to?: IsoDate },
  maxDays: number,
  due: { from: IsoDate; to: IsoDate } | null,
  names?: FieldNames,
): BackfillPlan {
  const { pipeline } = index;
  const range = autoRange(index, input, due);
  if (range === null) return emptyPlan();
  const { from, to } = range;
  const dates: PlannedDate[] = [];
  for (const { date, stages, reasons } of walk(index, from, to, historyStartOf(index, from), false)) {
    if (stages.length === 0) continue;
    const names = stages.map((i) => pipeline.names[i]);
    dates.push({ date, startStage: names[0], stages: names, reasons, transitions: [] });
  }
  // A given range was held to maxDays when parsed. Without one the ledger may be longer than that
  // (years of history): what one backfill may cover is then the span of the dates it reruns.
  const first = dates[0]?.date;
  const last = dates.at(-1)?.date;
  if (first !== undefined && last !== undefined && daysBetween(first, last) + 1 > maxDays) {
    const days = daysBetween(first, last) + 1;
    throw InvalidInputError.of(
      fieldName(input.from === undefined ? 'from' : 'to', names),
      undefined,
      `a date: without it, auto mode reruns dates from ${first} to ${last} (${days} days), more than ` +
        `the maximum of ${maxDays} days one backfill covers; backfill it in parts, the first with ` +
        `${fieldName('from', names)} ${first} and ${fieldName('to', names)} ${addDays(first, maxDays - 1)}`,
    );
  }
  return finish('auto', from, to, dates, pipeline);
}

/**
 * A missing bound comes from the ledger and the due dates (whichever reaches further); a given one
 * wins, so `to` can reach dates that never ran. When the found bound falls on the wrong side of the
 * given one, the range collapses onto it.
 */
function autoRange(
  index: LedgerIndex,
  given: { from?: IsoDate; to?: IsoDate },
  due: { from: IsoDate; to: IsoDate } | null,
): { from: IsoDate; to: IsoDate } | null {
  const from = given.from ?? earlier(index.earliest, due?.from ?? null) ?? given.to ?? null;
  const to = given.to ?? later(index.latest, due?.to ?? null) ?? given.from ?? null;
  if (from === null || to === null) return null;
  if (to >= from) return { from, to };
  return given.from !== undefined ? { from, to: from } : { from: to, to };
}

/** The due dates up to `last` (a day is processed once it is over), or null when none is. */
function dueUpTo(
  due: { from: IsoDate; to: IsoDate } | null,
  last: IsoDate,
): { from: IsoDate; to: IsoDate } | null {
  if (due === null || due.from > last) return null;
  return { from: due.from, to: due.to > last ? last : due.to };
}

function earlier(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  return a === null ? b : b === null || a <= b ? a : b;
}

function later(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  return a === null ? b : b === null || a >= b ? a : b;
}

function planExplicit(
  index: LedgerIndex,
  input: { from: IsoDate; to: IsoDate; stages: readonly string[]; stagesField: 'startStage' | 'stages' },
  names?: FieldNames,
): BackfillPlan {
  const { pipeline } = index;
  const stages = pipeline.downstreamOf(input.stages);
  const range = dateRange(input.from, input.to);
  const requested = input.stagesField === 'startStage' ? input.stages[0] : input.stages;
  // The runner refuses a stage whose input of the date has not run: refuse the whole plan now.
  for (const stage of stages) {
    for (const { stage: before } of pipeline.inputsOf(stage)) {
      if (stages.includes(before)) continue;
      const ran = index.byStage[pipeline.indexOf(before)];
      const unrun = range.filter((date) => !ran.has(date));
      if (unrun.length === 0) continue;
      const others = unrun.length > 1 ? ` (and ${unrun.length - 1} other dates)` : '';
      const missing = `${stage} reads ${before}, which has not run for ${unrun[0]}${others}`;
      const auto = `or use ${names?.mode ?? 'mode "auto"'}, which plans this for you`;
      throw InvalidInputError.of(
        fieldName(input.stagesField, names),
        requested,
        input.stagesField === 'startStage'
          ? `a stage whose inputs have run on every date of the range, but ${missing}: start from ${before} ` +
              `(or a stage upstream of it), ${auto}`
          : `stages whose inputs have run on every date of the range, but ${missing}: include ${before}, ${auto}`,
      );
    }
  }
  const reason = { kind: 'requested' as const, stage: input.stages.join(', ') };
  const dates = range.map((date) => ({
    date,
    startStage: stages[0],
    stages,
    reasons: [reason],
    transitions: [],
  }));
  return finish('explicit', input.from, input.to, dates, pipeline);
}

function finish(
  mode: BackfillMode,
  from: IsoDate,
  to: IsoDate,
  dates: PlannedDate[],
  pipeline: Pipeline,
): BackfillPlan {
  const inRange = daysBetween(from, to) + 1;
  return {
    mode,
    from,
    to,
    dates,
    skipped: inRange - dates.length,
    totals: {
      dates: dates.length,
      stageRuns: dates.reduce((sum, date) => sum + date.stages.length, 0),
      fullRerunStageRuns: inRange * pipeline.stages.length,
    },
  };
}

function emptyPlan(): BackfillPlan {
  return {
    mode: 'auto',
    from: null,
    to: null,
    dates: [],
    skipped: 0,
    totals: { dates: 0, stageRuns: 0, fullRerunStageRuns: 0 },
  };
}
