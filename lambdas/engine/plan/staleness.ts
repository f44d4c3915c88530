import { addDays, dateRange, daysBetween, type IsoDate } from '../dates';
import type { LedgerEntry } from '../ledger';
import { type Lineage, type Pipeline, sameLineage } from '../pipeline';

/** One version that differs between what a (date, stage) was produced with and what the code says. */
export interface VersionChange {
  readonly stage: string;
  /** Version recorded in the ledger; null when the stage was not part of the recorded lineage. */
  readonly recorded: number | null;
  /** Version in the code; null when the stage is no longer upstream. */
  readonly code: number | null;
}

/**
 * How an input of the window changed since the stage ran: `rerun` (another run id), `new` (a run
 * now exists that was not there), `removed` (a recorded run is gone), `planned` (it reruns first).
 */
export type InputChange = 'rerun' | 'new' | 'removed' | 'planned';

/** Why one (date, stage) must rerun. */
export type StaleReason =
  | { readonly kind: 'missing'; readonly stage: string }
  | { readonly kind: 'code-stale'; readonly stage: string; readonly changes: readonly VersionChange[] }
  | {
      readonly kind: 'input-stale';
      readonly stage: string;
      /** The previous stage, whose output this stage reads. */
      readonly input: string;
      readonly inputDate: IsoDate;
      readonly change: InputChange;
      readonly recordedRunId: string | null;
      readonly currentRunId: string | null;
    };

/** Why a date is in a plan: its start stage's staleness (auto), or the request itself (explicit). */
export type PlanReason = StaleReason | { readonly kind: 'requested'; readonly stage: string };

/** How `status` colours one (date, stage). */
export type CellState = 'fresh' | 'stale' | 'missing';

/** The ledger indexed for constant-time lookups by (date, stage). Rows of stages no longer in the pipeline are ignored. */
export interface LedgerIndex {
  readonly pipeline: Pipeline;
  /** One map per stage, in pipeline order: date → entry. */
  readonly byStage: readonly ReadonlyMap<IsoDate, LedgerEntry>[];
  /** Earliest and latest date with any entry; null when the ledger is empty. */
  readonly earliest: IsoDate | null;
  readonly latest: IsoDate | null;
}

/** Indexes ledger entries by stage and date; a later entry for the same (date, stage) wins. */
export function indexLedger(pipeline: Pipeline, entries: readonly LedgerEntry[]): LedgerIndex {
  const byStage = pipeline.names.map(() => new Map<IsoDate, LedgerEntry>());
  const position = new Map(pipeline.names.map((name, i) => [name, i]));
  let earliest: IsoDate | null = null;
  let latest: IsoDate | null = null;
  for (const entry of entries) {
    const i = position.get(entry.stage);
    if (i === undefined) continue;
    byStage[i].set(entry.date, entry);
    // ISO dates order as strings.
    if (earliest === null || entry.date < earliest) earliest = entry.date;
    if (latest === null || entry.date > latest) latest = entry.date;
  }
  return { pipeline, byStage, earliest, latest };
}

/** What `staleness` and `assessDate` take besides the ledger. */
export interface StalenessOptions {
  /** Dates already planned, each with its start stage: that stage and every later one rerun. */
  readonly planned?: ReadonlyMap<IsoDate, string>;
  /**
   * Input dates before this one are not checked, so rows purged from before it do not make the
   * first dates stale forever.
   * @default the ledger's earliest date
   */
  readonly historyStart?: IsoDate;
}

/** Why (date, stage) is missing or stale given the ledger and what is already planned; empty when fresh. */
export function staleness(
  index: LedgerIndex,
  date: IsoDate,
  stage: string,
  options: StalenessOptions = {},
): readonly StaleReason[] {
  const i = index.pipeline.indexOf(stage);
  const window = windowOf(index, date, i, options.historyStart);
  return assess(
    index,
    date,
    i,
    window,
    0,
    window.length - 1,
    plannedIndices(index.pipeline, options.planned),
  );
}

/** The first stale or missing stage of one date (null when all are fresh) and why. */
export interface DateAssessment {
  readonly date: IsoDate;
  readonly startStage: string | null;
  readonly reasons: readonly StaleReason[];
}

/** Finds the date's first missing or stale stage, given what is already planned on earlier dates. */
export function assessDate(
  index: LedgerIndex,
  date: IsoDate,
  options: StalenessOptions = {},
): DateAssessment {
  const planned = plannedIndices(index.pipeline, options.planned);
  for (let i = 0; i < index.pipeline.stages.length; i++) {
    const window = windowOf(index, date, i, options.historyStart);
    const reasons = assess(index, date, i, window, 0, window.length - 1, planned);
    if (reasons.length > 0) return { date, startStage: index.pipeline.names[i], reasons };
  }
  return { date, startStage: null, reasons: [] };
}

/** One row of the `status` grid: each stage's state on one date, as the auto plan sees it. */
export interface DateStatus {
  readonly date: IsoDate;
  readonly startStage: string | null;
  readonly cells: readonly {
    readonly stage: string;
    readonly state: CellState;
    readonly reasons: readonly StaleReason[];
  }[];
}

/**
 * The state of every (date, stage) in `[from, to]` under the same rules and the same forward
 * propagation as the auto plan: a cell is stale when the plan would rerun it.
 */
export function assessRange(index: LedgerIndex, from: IsoDate, to: IsoDate): DateStatus[] {
  const names = index.pipeline.names;
  return walk(index, from, to, historyStartOf(index, from), true).map(({ date, start, cells }) => ({
    date,
    startStage: start < 0 ? null : names[start],
    cells: cells.map((reasons, i) => ({ stage: names[i], state: cellState(reasons), reasons })),
  }));
}

/** `missing` when there is no ledger row, `stale` for any other reason, else `fresh`. */
export function cellState(reasons: readonly StaleReason[]): CellState {
  if (reasons.some((reason) => reason.kind === 'missing')) return 'missing';
  return reasons.length > 0 ? 'stale' : 'fresh';
}

const NOT_PLANNED = Number.POSITIVE_INFINITY;

/** Date → index of the first planned stage. Plans are always a suffix of the chain, so one number says it all. */
type PlannedIndices = ReadonlyMap<IsoDate, number>;

function plannedIndices(
  pipeline: Pipeline,
  planned: ReadonlyMap<IsoDate, string> | undefined,
): PlannedIndices {
  return new Map([...(planned ?? [])].map(([date, stage]) => [date, pipeline.indexOf(stage)]));
}

export function historyStartOf(index: LedgerIndex, from: IsoDate): IsoDate {
  return index.earliest !== null && index.earliest < from ? index.earliest : from;
}

/** The input window of stage i at `date`, clipped to the history start. */
function windowOf(index: LedgerIndex, date: IsoDate, i: number, historyStart?: IsoDate): IsoDate[] {
  const windowStart = addDays(date, -index.pipeline.stages[i].lookbackDays);
  const start = historyStart ?? index.earliest ?? date;
  return dateRange(windowStart > start ? windowStart : start, date);
}

/**
 * The staleness rules. `days[lo..hi]` is the input window (`days[hi]` is `date`), so the plan's
 * walk can share one array of dates instead of building a window per cell.
 */
function assess(
  index: LedgerIndex,
  date: IsoDate,
  i: number,
  days: readonly IsoDate[],
  lo: number,
  hi: number,
  planned: PlannedIndices,
): StaleReason[] {
  const { pipeline } = index;
  const stage = pipeline.stages[i];
  const entry = index.byStage[i].get(date);
  if (entry === undefined) return [{ kind: 'missing', stage: stage.name }];

  const reasons: StaleReason[] = [];
  const codeLineage = pipeline.codeLineage(stage.name);
  if (entry.version !== stage.version || !sameLineage(entry.lineage, codeLineage)) {
    const changes = lineageChanges(entry.lineage, codeLineage);
    if (entry.version !== stage.version) {
      changes.push({ stage: stage.name, recorded: entry.version, code: stage.version });
    }
    reasons.push({ kind: 'code-stale', stage: stage.name, changes });
  }
  if (i === 0) return reasons;

  const input = pipeline.names[i - 1];
  const inputs = index.byStage[i - 1];
  for (let k = lo; k <= hi; k++) {
    const inputDate = days[k];
    const currentRunId = inputs.get(inputDate)?.runId ?? null;
    const recordedRunId = Object.hasOwn(entry.inputRunIds, inputDate) ? entry.inputRunIds[inputDate] : null;
    let change: InputChange | null = null;
    if (currentRunId !== recordedRunId) {
      change = recordedRunId === null ? 'new' : currentRunId === null ? 'removed' : 'rerun';
    } else if ((planned.get(inputDate) ?? NOT_PLANNED) <= i - 1) {
      change = 'planned';
    }
    if (change !== null) {
      reasons.push({
        kind: 'input-stale',
        stage: stage.name,
        input,
        inputDate,
        change,
        recordedRunId,
        currentRunId,
      });
    }
  }
  return reasons;
}

/** Differences between two lineages, in the code's stage order, then stages only the recording knows. */
function lineageChanges(recorded: Lineage, code: Lineage): VersionChange[] {
  const changes: VersionChange[] = [];
  for (const [stage, version] of Object.entries(code)) {
    const was = Object.hasOwn(recorded, stage) ? recorded[stage] : null;
    if (was !== version) changes.push({ stage, recorded: was, code: version });
  }
  for (const [stage, version] of Object.entries(recorded)) {
    if (!Object.hasOwn(code, stage)) changes.push({ stage, recorded: version, code: null });
  }
  return changes;
}

interface WalkedDate {
  readonly date: IsoDate;
  /** Index of the first stale stage, or -1 when the date is fresh. */
  readonly start: number;
  /** Why the start stage is stale (given the dates planned before). */
  readonly startReasons: readonly StaleReason[];
  /** Every stage's reasons (only when asked for: the plan stops at the start stage). */
  readonly cells: readonly (readonly StaleReason[])[];
}

/**
 * Walks `[from, to]` in ascending order, marking each date's first stale stage as planned so later
 * dates whose windows include it become input-stale. Dates before `from` are never planned: there
 * only ledger facts count.
 */
/** Walks dates in order, assessing each against the ledger and what is planned before it (used by the plan and the earlier-dates check). */
export function walk(
  index: LedgerIndex,
  from: IsoDate,
  to: IsoDate,
  historyStart: IsoDate,
  allCells: boolean,
): WalkedDate[] {
  const stages = index.pipeline.stages;
  const maxLookback = Math.max(...stages.map((stage) => stage.lookbackDays));
  // One array covers every window; starting it at the history start (when later) clips windows for free.
  const reach = addDays(from, -maxLookback);
  const days = dateRange(reach > historyStart ? reach : historyStart, to);
  const planned = new Map<IsoDate, number>();
  const walked: WalkedDate[] = [];
  for (let p = daysBetween(days[0], from); p < days.length; p++) {
    const date = days[p];
    let start = -1;
    let startReasons: readonly StaleReason[] = [];
    const cells: StaleReason[][] = [];
    for (let i = 0; i < stages.length && (allCells || start < 0); i++) {
      const reasons = assess(index, date, i, days, Math.max(p - stages[i].lookbackDays, 0), p, planned);
      if (reasons.length > 0 && start < 0) {
        start = i;
        startReasons = reasons;
        planned.set(date, i);
      }
      if (allCells) cells.push(reasons);
    }
    walked.push({ date, start, startReasons, cells });
  }
  return walked;
}
