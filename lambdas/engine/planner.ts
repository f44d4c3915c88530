/**
 * The planner: compares the ledger with the code and says, for every date, the first stage that
 * must rerun. A pure function of one ledger read: no I/O, no SDK, no environment. The plan it
 * returns is plain data; the backfill workflow carries it out and `plan` prints it.
 */
import { z } from 'zod';
import { addDays, dateRange, daysBetween, type IsoDate, isIsoDate } from './dates';
import { type InputProblem, InvalidInputError } from './errors';
import type { LedgerEntry } from './ledger';
import { IDENTIFIER, IDENTIFIER_FORM, type Lineage, type Pipeline, sameLineage } from './pipeline';
import { type Transition, transitionsFor } from './transition';

/** `auto`: the ledger decides each date's start stage; `explicit`: every date of a range from one stage. */
export type BackfillMode = 'auto' | 'explicit';

// ---------------------------------------------------------------------------------------------
// Staleness

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

function historyStartOf(index: LedgerIndex, from: IsoDate): IsoDate {
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
function walk(
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

// ---------------------------------------------------------------------------------------------
// Backfill input

const FIELDS = ['mode', 'from', 'to', 'startStage', 'dryRun'] as const;
const DATE_FORM = 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31';
const EXPLICIT_NEEDS = 'explicit mode needs from, to and startStage';

/**
 * The backfill input, as typed in the console, passed by the CLI or sent by the after-deploy
 * trigger. Strict: an unknown field is refused. Checks that need the pipeline or today's date
 * are made by `parseBackfillInput`.
 */
export const BackfillRequestSchema = z.strictObject({
  mode: z.enum(['auto', 'explicit'], { error: '"auto" or "explicit"' }).optional(),
  from: z.string({ error: DATE_FORM }).refine(isIsoDate, { error: DATE_FORM }).optional(),
  to: z.string({ error: DATE_FORM }).refine(isIsoDate, { error: DATE_FORM }).optional(),
  // Stage names reach SQL and state names: no metacharacters even before the pipeline is known.
  startStage: z.string({ error: IDENTIFIER_FORM }).regex(IDENTIFIER, { error: IDENTIFIER_FORM }).optional(),
  dryRun: z.boolean({ error: 'true or false' }).optional(),
});

/** The backfill input's shape once the schema accepted it. */
export type BackfillRequest = z.infer<typeof BackfillRequestSchema>;

/** A backfill input that passed every check; explicit mode always has its range and start stage. */
export type ParsedBackfillInput =
  | { readonly mode: 'auto'; readonly from?: IsoDate; readonly to?: IsoDate; readonly dryRun: boolean }
  | {
      readonly mode: 'explicit';
      readonly from: IsoDate;
      readonly to: IsoDate;
      readonly startStage: string;
      readonly dryRun: boolean;
    };

/**
 * Validates a backfill input against the schema, the pipeline's stages and `today` (dates up to
 * yesterday, ranges of at most `maxDays`). Collects every problem and throws one InvalidInputError.
 */
export function parseBackfillInput(
  raw: unknown,
  pipeline: Pipeline,
  today: IsoDate,
  maxDays: number,
): ParsedBackfillInput {
  const stageForm = `one of ${pipeline.names.join(', ')}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const example = pipeline.names[Math.min(1, pipeline.names.length - 1)];
    throw InvalidInputError.of(
      'input',
      raw,
      `an object such as {"mode": "auto"} or {"from": "2026-01-01", "to": "2026-01-31", "startStage": "${example}"}`,
    );
  }
  const given = new Map(Object.entries(raw));
  const problems: InputProblem[] = [];
  const forms = { from: DATE_FORM, to: DATE_FORM, startStage: stageForm };

  const result = BackfillRequestSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push({
            field: key,
            value: given.get(key),
            accepted: `only the fields ${FIELDS.join(', ')}`,
          });
        }
        continue;
      }
      // The schema's messages are the accepted forms; only the stage list needs the pipeline.
      const field = String(issue.path[0]);
      problems.push({
        field,
        value: given.get(field),
        accepted: field === 'startStage' ? stageForm : issue.message,
      });
    }
  }

  // Each field on its own, so the checks below still run on the fields that are well formed.
  const shape = BackfillRequestSchema.shape;
  const mode = parsedValue(shape.mode.safeParse(given.get('mode')));
  const from = parsedValue(shape.from.safeParse(given.get('from')));
  const to = parsedValue(shape.to.safeParse(given.get('to')));
  const startStage = parsedValue(shape.startStage.safeParse(given.get('startStage')));
  const dryRun = parsedValue(shape.dryRun.safeParse(given.get('dryRun'))) ?? false;
  const resolvedMode: BackfillMode = mode ?? (given.get('startStage') !== undefined ? 'explicit' : 'auto');

  if (startStage !== undefined && !pipeline.names.includes(startStage)) {
    problems.push({ field: 'startStage', value: startStage, accepted: stageForm });
  }
  if (resolvedMode === 'auto' && given.get('startStage') !== undefined) {
    problems.push({
      field: 'startStage',
      value: given.get('startStage'),
      accepted:
        'nothing in auto mode, which finds each date\'s start stage (remove startStage, or set mode to "explicit")',
    });
  }
  if (resolvedMode === 'explicit') {
    for (const field of ['from', 'to', 'startStage'] as const) {
      if (given.get(field) === undefined) {
        problems.push({ field, value: undefined, accepted: `${forms[field]} (${EXPLICIT_NEEDS})` });
      }
    }
  }
  const yesterday = addDays(today, -1);
  for (const [field, date] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (date !== undefined && date > yesterday) {
      problems.push({
        field,
        value: date,
        accepted: `a date up to yesterday, ${yesterday} (today and later have not happened yet)`,
      });
    }
  }
  if (from !== undefined && to !== undefined) {
    if (to < from) {
      problems.push({ field: 'to', value: to, accepted: `a date on or after from (${from})` });
    } else if (daysBetween(from, to) + 1 > maxDays) {
      problems.push({
        field: 'to',
        value: to,
        accepted: `a date up to ${addDays(from, maxDays - 1)}: a backfill covers at most ${maxDays} days from ${from}; split a longer one`,
      });
    }
  }
  if (problems.length > 0) throw new InvalidInputError(problems);

  if (resolvedMode === 'explicit' && from !== undefined && to !== undefined && startStage !== undefined) {
    return { mode: 'explicit', from, to, startStage, dryRun };
  }
  return {
    mode: 'auto',
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    dryRun,
  };
}

function parsedValue<T>(result: z.ZodSafeParseResult<T>): T | undefined {
  return result.success ? result.data : undefined;
}

// ---------------------------------------------------------------------------------------------
// The plan

/** Everything `planBackfill` needs: the backfill input's fields, the code, one read of the ledger, today. */
export interface PlanBackfillRequest {
  readonly pipeline: Pipeline;
  readonly ledger: readonly LedgerEntry[];
  readonly mode: BackfillMode;
  readonly from?: IsoDate;
  readonly to?: IsoDate;
  readonly startStage?: string;
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
}

/** One date of a plan: it reruns `startStage` and every stage after it. */
export interface PlannedDate {
  readonly date: IsoDate;
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

/** Computes which dates rerun and from which stage. Validates the request first (InvalidInputError). */
export function planBackfill(request: PlanBackfillRequest): BackfillPlan {
  const { pipeline, today, maxDays } = request;
  const input = parseBackfillInput(
    { mode: request.mode, from: request.from, to: request.to, startStage: request.startStage },
    pipeline,
    today,
    maxDays,
  );
  const index = indexLedger(pipeline, request.ledger);
  const plan =
    input.mode === 'explicit'
      ? planExplicit(index, input)
      : planAuto(index, input, maxDays, dueUpTo(request.due ?? null, addDays(today, -1)));
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
        date.startStage,
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
): BackfillPlan {
  const { pipeline } = index;
  const range = autoRange(index, input, due);
  if (range === null) return emptyPlan();
  const { from, to } = range;
  const dates: PlannedDate[] = [];
  for (const { date, start, startReasons } of walk(index, from, to, historyStartOf(index, from), false)) {
    if (start < 0) continue;
    dates.push({
      date,
      startStage: pipeline.names[start],
      stages: pipeline.names.slice(start),
      reasons: startReasons,
      transitions: [],
    });
  }
  // A given range was held to maxDays when parsed. Without one the ledger may be longer than that
  // (years of history): what one backfill may cover is then the span of the dates it reruns.
  const first = dates[0]?.date;
  const last = dates.at(-1)?.date;
  if (first !== undefined && last !== undefined && daysBetween(first, last) + 1 > maxDays) {
    const days = daysBetween(first, last) + 1;
    throw InvalidInputError.of(
      input.from === undefined ? 'from' : 'to',
      undefined,
      `a date: without it, auto mode reruns dates from ${first} to ${last} (${days} days), more than ` +
        `the maximum of ${maxDays} days one backfill covers; backfill it in parts, the first with ` +
        `from ${first} and to ${addDays(first, maxDays - 1)}`,
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
  input: { from: IsoDate; to: IsoDate; startStage: string },
): BackfillPlan {
  const { pipeline } = index;
  const start = pipeline.indexOf(input.startStage);
  const range = dateRange(input.from, input.to);
  if (start > 0) {
    // The runner refuses a stage whose input stage has not run for the date: refuse the whole plan now.
    const before = pipeline.names[start - 1];
    const unrun = range.filter((date) => !index.byStage[start - 1].has(date));
    if (unrun.length > 0) {
      const others = unrun.length > 1 ? ` (and ${unrun.length - 1} other dates)` : '';
      throw InvalidInputError.of(
        'startStage',
        input.startStage,
        `a stage whose input has run on every date of the range, but ${before} has not run for ${unrun[0]}${others}: ` +
          `start from ${before} or earlier, or use mode "auto", which plans this for you`,
      );
    }
  }
  const stages = pipeline.names.slice(start);
  const dates = range.map((date) => ({
    date,
    startStage: input.startStage,
    stages,
    reasons: [{ kind: 'requested' as const, stage: input.startStage }],
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

// ---------------------------------------------------------------------------------------------
// Earlier dates a daily run reads

/**
 * How many days back a daily run's inputs can be affected by a rerun: a stage reads its input over
 * the `lookbackDays` before the date, and whether an earlier date reruns that input depends in turn
 * on that date's own windows of the stages before, so the reach is the lookbacks summed.
 */
export function dependencyReach(pipeline: Pipeline): number {
  return pipeline.stages.reduce((sum, stage) => sum + stage.lookbackDays, 0);
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
  const widest = Math.max(...pipeline.stages.map((stage) => stage.lookbackDays));
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

/** An earlier date that a daily run reads and that the auto plan reruns first, from a stage the run reads. */
export interface DependencyConflict {
  readonly date: IsoDate;
  /** Where the plan enters the earlier date's chain. */
  readonly startStage: string;
  /** Why the plan reruns it (its start stage's staleness), as in a plan. */
  readonly reasons: readonly StaleReason[];
  /** The stages of the daily run whose input window holds this date and whose input the plan reruns. */
  readonly readBy: readonly string[];
}

/**
 * The earlier dates `date`'s daily run depends on that the auto plan (the same walk, the same rules)
 * would rerun before it, from a stage at or before the input of a stage whose window reaches them.
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
    if (walked.start < 0) continue;
    const ago = daysBetween(walked.date, date);
    const readBy = pipeline.stages
      .filter((stage, i) => stage.lookbackDays >= ago && walked.start <= i - 1)
      .map((stage) => stage.name);
    if (readBy.length === 0) continue;
    conflicts.push({
      date: walked.date,
      startStage: pipeline.names[walked.start],
      reasons: walked.startReasons,
      readBy,
    });
  }
  return conflicts;
}

// ---------------------------------------------------------------------------------------------
// Showing a plan

/**
 * A human summary: one line per run of consecutive dates sharing a start stage, why they rerun,
 * then the totals against a full rerun of the range.
 */
export function formatPlan(
  plan: BackfillPlan,
  pipeline: Pipeline,
  options: {
    /** Show at most this many runs of dates, then say how many more there are. @default all */
    readonly maxRuns?: number;
  } = {},
): string {
  if (plan.from === null || plan.to === null)
    return 'Nothing to do: the ledger is empty and no range was given.';
  if (plan.dates.length === 0) return `Nothing to do: every date in ${plan.from} .. ${plan.to} is fresh.`;

  const lines = [
    `Backfill plan (${plan.mode}) for ${plan.from} .. ${plan.to}: ${count(plan.dates.length, 'date')} to rerun, ` +
      `${plan.skipped} fresh and skipped.`,
  ];
  const groups = groupDates(plan.dates);
  const shownGroups = groups.slice(0, options.maxRuns ?? groups.length);
  for (const group of shownGroups) {
    const first = group[0];
    const last = group[group.length - 1];
    const span = first.date === last.date ? first.date : `${first.date} .. ${last.date}`;
    lines.push(
      `  ${span.padEnd(24)}  (${count(group.length, 'date')})  from ${first.startStage}: ${first.stages.join(' → ')}`,
    );
    const why = [...new Set(group.flatMap((date) => date.reasons.map(describeReason)))];
    const shown = why.length > 4 ? [...why.slice(0, 4), `${why.length - 4} more`] : why;
    lines.push(`      why: ${shown.join('; ')}`);
    const transitions = [...new Set(group.flatMap((date) => date.transitions))];
    if (transitions.length > 0) lines.push(`      transitions first: ${transitions.join(', ')}`);
  }
  if (shownGroups.length < groups.length) {
    const hidden = groups.slice(shownGroups.length);
    const dates = hidden.reduce((sum, group) => sum + group.length, 0);
    lines.push(
      `  … and ${count(hidden.length, 'more run')} of dates (${count(dates, 'date')}, ${hidden[0][0].date} on); ` +
        '`hindsight plan` shows them all',
    );
  }
  const { stageRuns, fullRerunStageRuns } = plan.totals;
  const saving =
    stageRuns >= fullRerunStageRuns
      ? 'the same as a full rerun'
      : `saves ${Math.floor(((fullRerunStageRuns - stageRuns) * 100) / fullRerunStageRuns)}% of a full rerun`;
  lines.push(
    `Totals: ${count(plan.totals.dates, 'date')}, ${count(stageRuns, 'stage-run')}; a full rerun is ` +
      `${count(fullRerunStageRuns, 'stage-run')} (${plan.skipped + plan.totals.dates} dates × ` +
      `${count(pipeline.stages.length, 'stage')}): ${saving}.`,
  );
  return lines.join('\n');
}

/** The plan as a plain JSON-ready object whose keys always come in the same order. */
export function planToJson(plan: BackfillPlan): BackfillPlan {
  return {
    mode: plan.mode,
    from: plan.from,
    to: plan.to,
    dates: plan.dates.map((date) => ({
      date: date.date,
      startStage: date.startStage,
      stages: [...date.stages],
      reasons: date.reasons.map(reasonToJson),
      transitions: [...date.transitions],
    })),
    skipped: plan.skipped,
    totals: {
      dates: plan.totals.dates,
      stageRuns: plan.totals.stageRuns,
      fullRerunStageRuns: plan.totals.fullRerunStageRuns,
    },
  };
}

function reasonToJson(reason: PlanReason): PlanReason {
  switch (reason.kind) {
    case 'missing':
    case 'requested':
      return { kind: reason.kind, stage: reason.stage };
    case 'code-stale':
      return {
        kind: reason.kind,
        stage: reason.stage,
        changes: reason.changes.map((change) => ({
          stage: change.stage,
          recorded: change.recorded,
          code: change.code,
        })),
      };
    case 'input-stale':
      return {
        kind: reason.kind,
        stage: reason.stage,
        input: reason.input,
        inputDate: reason.inputDate,
        change: reason.change,
        recordedRunId: reason.recordedRunId,
        currentRunId: reason.currentRunId,
      };
  }
}

/** A reason without its dates, so a run of many dates shows each cause once. */
function describeReason(reason: PlanReason): string {
  switch (reason.kind) {
    case 'missing':
      return `${reason.stage} has not run`;
    case 'requested':
      return `requested from ${reason.stage}`;
    case 'code-stale':
      return `code changed: ${reason.changes
        .map((change) => `${change.stage} ${versionLabel(change.recorded)} → ${versionLabel(change.code)}`)
        .join(', ')}`;
    case 'input-stale': {
      const { stage, input } = reason;
      const what = {
        planned: `${input} reruns first`,
        rerun: `${input} was rerun after ${stage} read it`,
        new: `${input} has a run ${stage} did not read`,
        removed: `${input} lost a run ${stage} read`,
      }[reason.change];
      return `input of ${stage} changed: ${what}`;
    }
  }
}

function versionLabel(version: number | null): string {
  return version === null ? 'none' : `v${version}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * One line per run of consecutive conflicting dates with the same start stage and readers: the
 * dates, where the plan reruns them from, which stage of the daily run reads them, and why.
 */
export function formatDependencyConflicts(conflicts: readonly DependencyConflict[]): string[] {
  const groups = groupConsecutive(conflicts, (c) => `${c.startStage}|${c.readBy.join(',')}`);
  return groups.map((group) => {
    const first = group[0];
    const last = group[group.length - 1];
    const span = first.date === last.date ? first.date : `${first.date} .. ${last.date}`;
    const why = [...new Set(group.flatMap((conflict) => conflict.reasons.map(describeReason)))];
    const shown = why.length > 4 ? [...why.slice(0, 4), `${why.length - 4} more`] : why;
    return (
      `${span} (${count(group.length, 'date')}): rerun from ${first.startStage}, ` +
      `read by ${first.readBy.join(', ')}; why: ${shown.join('; ')}`
    );
  });
}

/** Runs of calendar-consecutive dates with the same start stage. */
function groupDates(dates: readonly PlannedDate[]): PlannedDate[][] {
  return groupConsecutive(dates, (date) => date.startStage);
}

/** Runs of calendar-consecutive dates with the same key. */
function groupConsecutive<T extends { readonly date: IsoDate }>(
  items: readonly T[],
  key: (item: T) => string,
): T[][] {
  const groups: T[][] = [];
  for (const item of items) {
    const group = groups[groups.length - 1];
    const previous = group?.[group.length - 1];
    if (previous && key(previous) === key(item) && addDays(previous.date, 1) === item.date) group.push(item);
    else groups.push([item]);
  }
  return groups;
}
