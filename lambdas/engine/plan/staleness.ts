import { addDays, dateRange, daysBetween, type IsoDate } from '../dates';
import { type LedgerEntry, upgradeInputRunIds } from '../ledger';
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
      /** The input stage whose output changed. */
      readonly input: string;
      readonly inputDate: IsoDate;
      readonly change: InputChange;
      readonly recordedRunId: string | null;
      readonly currentRunId: string | null;
    };

/** Why a date is in a plan: the staleness of the stages that are stale on their own (auto), or the request itself (explicit). */
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
    const inputRunIds = upgradeInputRunIds(entry.inputRunIds, pipeline.names[i - 1]);
    byStage[i].set(entry.date, inputRunIds === entry.inputRunIds ? entry : { ...entry, inputRunIds });
    // ISO dates order as strings.
    if (earliest === null || entry.date < earliest) earliest = entry.date;
    if (latest === null || entry.date > latest) latest = entry.date;
  }
  return { pipeline, byStage, earliest, latest };
}

/** What `staleness` and `assessDate` take besides the ledger. */
export interface StalenessOptions {
  /** Dates already planned, each with the stages it reruns. */
  readonly planned?: ReadonlyMap<IsoDate, readonly string[]>;
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
  const days = windowOf(index, date, i, options.historyStart);
  return assess(index, date, i, days, days.length - 1, plannedSets(index.pipeline, options.planned));
}

/** The stages of one date that are missing or stale (none when all are fresh) and why. */
export interface DateAssessment {
  readonly date: IsoDate;
  /** The first of `stages` in pipeline order, or null when the date is fresh. */
  readonly startStage: string | null;
  /** Every stage the date must rerun, in pipeline order. */
  readonly stages: readonly string[];
  /** Why: the reasons of each stage that is stale on its own, not only because an input of the date reruns. */
  readonly reasons: readonly StaleReason[];
}

/** Finds the date's missing and stale stages, given what is already planned on earlier dates. */
export function assessDate(
  index: LedgerIndex,
  date: IsoDate,
  options: StalenessOptions = {},
): DateAssessment {
  const { pipeline } = index;
  const planned = new Map(plannedSets(pipeline, options.planned));
  const start = options.historyStart ?? index.earliest ?? date;
  const reach = addDays(date, -Math.max(...pipeline.names.map((name) => pipeline.lookbackOf(name))));
  const days = dateRange(reach > start ? reach : start, date);
  const { stale, rootReasons } = assessAllStages(index, days, days.length - 1, planned, false);
  const stages = pipeline.names.filter((_, i) => stale[i]);
  return { date, startStage: stages[0] ?? null, stages, reasons: rootReasons };
}

/** One row of the `status` grid: each stage's state on one date, as the auto plan sees it. */
export interface DateStatus {
  readonly date: IsoDate;
  /** The first stage the date reruns, in pipeline order; null when it is fresh. */
  readonly startStage: string | null;
  /** Every stage the date reruns, in pipeline order. */
  readonly stages: readonly string[];
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
  return walk(index, from, to, historyStartOf(index, from), true).map(({ date, stages, cells }) => ({
    date,
    startStage: stages.length === 0 ? null : names[stages[0]],
    stages: stages.map((i) => names[i]),
    cells: cells.map((reasons, i) => ({ stage: names[i], state: cellState(reasons), reasons })),
  }));
}

/** `missing` when there is no ledger row, `stale` for any other reason, else `fresh`. */
export function cellState(reasons: readonly StaleReason[]): CellState {
  if (reasons.some((reason) => reason.kind === 'missing')) return 'missing';
  return reasons.length > 0 ? 'stale' : 'fresh';
}

/** Date → which stages (by pipeline index) rerun on it. */
type PlannedSets = ReadonlyMap<IsoDate, readonly boolean[]>;

function plannedSets(
  pipeline: Pipeline,
  planned: ReadonlyMap<IsoDate, readonly string[]> | undefined,
): PlannedSets {
  return new Map(
    [...(planned ?? [])].map(([date, stages]) => {
      const set = pipeline.names.map(() => false);
      for (const stage of stages) set[pipeline.indexOf(stage)] = true;
      return [date, set];
    }),
  );
}

export function historyStartOf(index: LedgerIndex, from: IsoDate): IsoDate {
  return index.earliest !== null && index.earliest < from ? index.earliest : from;
}

/** The widest input window of stage i at `date`, clipped to the history start. */
function windowOf(index: LedgerIndex, date: IsoDate, i: number, historyStart?: IsoDate): IsoDate[] {
  const windowStart = addDays(date, -index.pipeline.lookbackOf(index.pipeline.names[i]));
  const start = historyStart ?? index.earliest ?? date;
  return dateRange(windowStart > start ? windowStart : start, date);
}

/** Each stage's inputs as (stage index, lookback), cached per pipeline: the walk asks for them per cell. */
const inputIndices = new WeakMap<Pipeline, readonly (readonly { index: number; lookbackDays: number }[])[]>();

function inputsByIndex(pipeline: Pipeline): readonly (readonly { index: number; lookbackDays: number }[])[] {
  let cached = inputIndices.get(pipeline);
  if (cached === undefined) {
    cached = pipeline.names.map((name) =>
      pipeline
        .inputsOf(name)
        .map((input) => ({ index: pipeline.indexOf(input.stage), lookbackDays: input.lookbackDays })),
    );
    inputIndices.set(pipeline, cached);
  }
  return cached;
}

/**
 * The staleness rules. `days` holds every date of the widest input window, `days[p]` being
 * `date`, so the plan's walk can share one array of dates instead of building a window per cell.
 */
function assess(
  index: LedgerIndex,
  date: IsoDate,
  i: number,
  days: readonly IsoDate[],
  p: number,
  planned: PlannedSets,
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
  for (const { index: j, lookbackDays } of inputsByIndex(pipeline)[i]) {
    const input = pipeline.names[j];
    const inputs = index.byStage[j];
    const recorded = Object.hasOwn(entry.inputRunIds, input) ? entry.inputRunIds[input] : {};
    for (let k = Math.max(p - lookbackDays, 0); k <= p; k++) {
      const inputDate = days[k];
      const currentRunId = inputs.get(inputDate)?.runId ?? null;
      const recordedRunId = Object.hasOwn(recorded, inputDate) ? recorded[inputDate] : null;
      let change: InputChange | null = null;
      if (currentRunId !== recordedRunId) {
        change = recordedRunId === null ? 'new' : currentRunId === null ? 'removed' : 'rerun';
      } else if (planned.get(inputDate)?.[j] === true) {
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
  }
  return reasons;
}

/**
 * Every stage of `days[p]`, in pipeline order (inputs first), each seeing the stages of the same
 * date already found stale as planned. Records the date's planned set in `planned` when any is.
 * The root reasons are those of the stages stale on their own, no input of the same date rerunning.
 */
function assessAllStages(
  index: LedgerIndex,
  days: readonly IsoDate[],
  p: number,
  planned: Map<IsoDate, readonly boolean[]>,
  allCells: boolean,
): { stale: boolean[]; rootReasons: StaleReason[]; cells: StaleReason[][] } {
  const date = days[p];
  const stages = index.pipeline.stages;
  const stale = stages.map(() => false);
  planned.set(date, stale);
  const rootReasons: StaleReason[] = [];
  const cells: StaleReason[][] = [];
  const inputs = inputsByIndex(index.pipeline);
  for (let i = 0; i < stages.length; i++) {
    const reasons = assess(index, date, i, days, p, planned);
    if (reasons.length > 0) {
      stale[i] = true;
      // A stage that reruns because an input of the same date does adds no reason of its own.
      if (!inputs[i].some(({ index: j }) => stale[j])) rootReasons.push(...reasons);
    }
    if (allCells) cells.push(reasons);
  }
  if (!stale.includes(true)) planned.delete(date);
  return { stale, rootReasons, cells };
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
  /** Indices of the stages the date reruns, ascending; empty when it is fresh. */
  readonly stages: readonly number[];
  /** Why: the reasons of the stages stale on their own (given the dates planned before). */
  readonly reasons: readonly StaleReason[];
  /** Every stage's reasons (only when asked for). */
  readonly cells: readonly (readonly StaleReason[])[];
}

/**
 * Walks `[from, to]` in ascending order, marking each date's stale stages as planned so that later
 * dates whose windows include them (and later stages of the same date that read them) become
 * input-stale. Dates before `from` are never planned: there only ledger facts count. Used by the
 * plan, `status` and the earlier-dates check.
 */
export function walk(
  index: LedgerIndex,
  from: IsoDate,
  to: IsoDate,
  historyStart: IsoDate,
  allCells: boolean,
): WalkedDate[] {
  const { pipeline } = index;
  const maxLookback = Math.max(...pipeline.names.map((name) => pipeline.lookbackOf(name)));
  // One array covers every window; starting it at the history start (when later) clips windows for free.
  const reach = addDays(from, -maxLookback);
  const days = dateRange(reach > historyStart ? reach : historyStart, to);
  const planned = new Map<IsoDate, readonly boolean[]>();
  const walked: WalkedDate[] = [];
  for (let p = daysBetween(days[0], from); p < days.length; p++) {
    const { stale, rootReasons, cells } = assessAllStages(index, days, p, planned, allCells);
    const stages: number[] = [];
    stale.forEach((isStale, i) => {
      if (isStale) stages.push(i);
    });
    walked.push({ date: days[p], stages, reasons: rootReasons, cells });
  }
  return walked;
}
