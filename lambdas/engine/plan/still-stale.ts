/**
 * What is left stale: the dates an auto backfill of the whole ledger would rerun, either now (after
 * a run or a backfill, from the ledger it left) or once a plan has run (before it runs, from the
 * ledger it would leave). The CLI says it, so that no command leaves data stale in silence.
 */
import { addDays, dateRange, type IsoDate } from '../dates';
import type { LedgerEntry } from '../ledger';
import type { BackfillPlan } from './plan-backfill';
import type { LedgerIndex, PlanReason } from './staleness';
import { walk } from './staleness';

/** One date an auto backfill of everything would rerun. */
export interface StillStaleDate {
  readonly date: IsoDate;
  readonly stages: readonly string[];
  /** Why, as in a plan: the reasons of the stages stale on their own. */
  readonly reasons: readonly PlanReason[];
}

/** The stale (or missing) dates, and where they lie against a range (the plan's, when there is one). */
export interface StillStale {
  readonly dates: readonly StillStaleDate[];
  /** First and last of `dates`; null when none. */
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  /** How many fall before / after the range given to `stillStale` (0 without one). */
  readonly beforeRange: number;
  readonly afterRange: number;
}

export interface StillStaleOptions {
  /**
   * The dates the daily workflow was started for (`hindsight_due_dates`): auto mode covers them
   * too, so a due date that never ran counts, as in the plan.
   */
  readonly due?: { readonly from: IsoDate; readonly to: IsoDate } | null;
  /** The current date: due dates from today on are not yet due for a backfill. */
  readonly today: IsoDate;
  /** The range a plan covered, to count what lies outside it. */
  readonly range?: { readonly from: IsoDate | null; readonly to: IsoDate | null };
}

/**
 * Every date an auto backfill without a range would rerun on this ledger, under the plan's own
 * rules (the same walk, forward propagation included).
 */
export function stillStale(index: LedgerIndex, options: StillStaleOptions): StillStale {
  const yesterday = addDays(options.today, -1);
  const due = options.due && options.due.from <= yesterday ? options.due : null;
  const dueTo = due === null ? null : due.to > yesterday ? yesterday : due.to;
  const from = earlier(index.earliest, due?.from ?? null);
  const to = later(index.latest, dueTo);
  const dates: StillStaleDate[] = [];
  if (from !== null && to !== null) {
    for (const walked of walk(index, from, to, from, false)) {
      if (walked.stages.length === 0) continue;
      dates.push({
        date: walked.date,
        stages: walked.stages.map((i) => index.pipeline.names[i]),
        reasons: walked.reasons,
      });
    }
  }
  const rangeFrom = options.range?.from ?? null;
  const rangeTo = options.range?.to ?? null;
  return {
    dates,
    from: dates[0]?.date ?? null,
    to: dates.at(-1)?.date ?? null,
    beforeRange: rangeFrom === null ? 0 : dates.filter((d) => d.date < rangeFrom).length,
    afterRange: rangeTo === null ? 0 : dates.filter((d) => d.date > rangeTo).length,
  };
}

/**
 * The ledger as it will be once `plan` has run: each planned (date, stage), in order, recorded
 * again with the code's version, its inputs' current run ids over their windows and their lineage,
 * and a new run id (as the stage runner records it). Rows of other dates and stages are kept.
 */
export function ledgerAfterPlan(index: LedgerIndex, plan: BackfillPlan): LedgerIndex {
  const { pipeline } = index;
  const byStage = index.byStage.map((entries) => new Map(entries));
  let earliest = index.earliest;
  let latest = index.latest;
  for (const planned of plan.dates) {
    const { date } = planned;
    for (const name of planned.stages) {
      const lineage: Record<string, number> = {};
      const inputRunIds: Record<string, Record<IsoDate, string>> = {};
      for (const input of pipeline.inputsOf(name)) {
        const runs = byStage[pipeline.indexOf(input.stage)];
        const window: Record<IsoDate, string> = {};
        for (const day of dateRange(addDays(date, -input.lookbackDays), date)) {
          const run = runs.get(day);
          if (run !== undefined) window[day] = run.runId;
        }
        inputRunIds[input.stage] = window;
        const sameDay = runs.get(date);
        if (sameDay !== undefined)
          Object.assign(lineage, sameDay.lineage, { [input.stage]: sameDay.version });
      }
      const entry: LedgerEntry = {
        date,
        stage: name,
        version: pipeline.stage(name).version,
        lineage,
        inputRunIds,
        runId: `planned:${date}:${name}`,
      };
      byStage[pipeline.indexOf(name)].set(date, entry);
    }
    earliest = earlier(earliest, date);
    latest = later(latest, date);
  }
  return { pipeline, byStage, earliest, latest };
}

function earlier(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  return a === null ? b : b === null || a <= b ? a : b;
}

function later(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  return a === null ? b : b === null || a >= b ? a : b;
}
