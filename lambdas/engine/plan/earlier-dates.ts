import { addDays, daysBetween, type IsoDate } from '../dates';
import type { Pipeline } from '../pipeline';
import { type LedgerIndex, type StaleReason, walk } from './staleness';

/**
 * How many days back a daily run's inputs can be affected by a rerun: a stage reads each input over
 * that input's `lookbackDays` before the date, and whether an earlier date reruns that input depends
 * in turn on that date's own windows upstream, so the reach is the longest path of the graph with
 * the lookbacks as lengths (for a chain, the lookbacks summed).
 */
export function dependencyReach(pipeline: Pipeline): number {
  const reach = new Map<string, number>();
  for (const name of pipeline.names) {
    const upstream = pipeline.inputsOf(name).map((input) => input.lookbackDays + reach.get(input.stage)!);
    reach.set(name, Math.max(0, ...upstream));
  }
  return Math.max(0, ...reach.values());
}

/**
 * The ledger dates `dependencyConflicts` reads for `date`: the reach before it, plus the input
 * windows of those dates. Null when no stage has a lookback: a daily run then reads no earlier date.
 */
export function dependencyReadRange(
  pipeline: Pipeline,
  date: IsoDate,
): { from: IsoDate; to: IsoDate } | null {
  const reach = dependencyReach(pipeline);
  if (reach === 0) return null;
  const widest = Math.max(...pipeline.names.map((name) => pipeline.lookbackOf(name)));
  return { from: addDays(date, -(reach + widest)), to: addDays(date, -1) };
}

/**
 * The earlier dates a daily run for `date` depends on: the reach before it, from the history start
 * (the index's earliest date) on. Null when there are none (an empty ledger, no lookback, or a date
 * before the history start).
 */
export function dependencyWindow(index: LedgerIndex, date: IsoDate): { from: IsoDate; to: IsoDate } | null {
  const reach = dependencyReach(index.pipeline);
  if (index.earliest === null || reach === 0) return null;
  const reachStart = addDays(date, -reach);
  const from = reachStart > index.earliest ? reachStart : index.earliest;
  const to = addDays(date, -1);
  return to < from ? null : { from, to };
}

/** An earlier date that a daily run reads and that the auto plan reruns first, a stage the run reads among them. */
export interface DependencyConflict {
  readonly date: IsoDate;
  /** The first stage the plan reruns on that date. */
  readonly startStage: string;
  /** Every stage the plan reruns on that date, in pipeline order. */
  readonly stages: readonly string[];
  /** Why the plan reruns it, as in a plan. */
  readonly reasons: readonly StaleReason[];
  /** The stages of the daily run whose input window holds this date and whose input the plan reruns. */
  readonly readBy: readonly string[];
}

/**
 * The earlier dates `date`'s daily run depends on that the auto plan (the same walk, the same rules)
 * would rerun before it, rerunning an input that a stage of the run reads over a window reaching them.
 * Dates before the history start (the index's earliest date) are no dependencies, as the planner
 * clips windows there. `index` must hold the ledger's rows in `dependencyReadRange(date)` and those
 * of its first date; any other rows are ignored. Empty when the run can go ahead.
 */
export function dependencyConflicts(index: LedgerIndex, date: IsoDate): DependencyConflict[] {
  const { pipeline } = index;
  const window = dependencyWindow(index, date);
  if (window === null || index.earliest === null) return [];
  const conflicts: DependencyConflict[] = [];
  // Dates before the window are never planned by the walk; none of them can change a stage this run reads.
  for (const walked of walk(index, window.from, window.to, index.earliest, false)) {
    if (walked.stages.length === 0) continue;
    const ago = daysBetween(walked.date, date);
    const reruns = new Set(walked.stages.map((i) => pipeline.names[i]));
    const readBy = pipeline.names.filter((name) =>
      pipeline.inputsOf(name).some((input) => input.lookbackDays >= ago && reruns.has(input.stage)),
    );
    if (readBy.length === 0) continue;
    conflicts.push({
      date: walked.date,
      startStage: pipeline.names[walked.stages[0]],
      stages: [...reruns],
      reasons: walked.reasons,
      readBy,
    });
  }
  return conflicts;
}
