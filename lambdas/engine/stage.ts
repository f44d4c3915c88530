import type { IsoDate } from './dates';
import type { SqlExecutor } from './sql';

/** What a stage's `run` receives. Everything it does goes through `sql`, inside the stage's transaction. */
export interface StageContext {
  readonly sql: SqlExecutor;
  /** The execution date being produced. */
  readonly date: IsoDate;
  /** First date of the widest input window: `date` minus the longest lookback of the stage's inputs. */
  readonly windowStart: IsoDate;
  /** First date of each input's window, by input stage: `date - lookbackDays` of that input. */
  readonly windowStarts: Readonly<Record<string, IsoDate>>;
  /** The pipeline's own parameters, as deployed or given with `--param` (see `PipelineParams`). */
  readonly params: PipelineParams;
}

/**
 * Named settings of one deployment of a pipeline (`hindsight:params` in cdk.json, `--param
 * NAME=VALUE` on the command line): things like a source's size or endpoint, which may differ
 * between a laptop and production. They must not change what a stage computes from its inputs;
 * that is what versions are for. A stage that reads one parses and checks it itself.
 */
export type PipelineParams = Readonly<Record<string, string>>;

export interface StageDefinition {
  /** Stable id: the Choice branch, the ledger key and the CLI argument. Lower snake case. */
  readonly name: string;
  /** Bump when what the stage computes changes: past dates will be rebuilt from this stage on. */
  readonly version: number;
  /**
   * The stages whose output this stage reads, each a name or `{ stage, lookbackDays }` (it reads that
   * stage's rows over `[date - lookbackDays, date]`; default 0, the date alone). Omitted: the stage
   * reads the stage listed before it, with `lookbackDays` below (a chain). `[]`: a source, which
   * reads nothing another stage writes.
   * @default - the stage before it in the list
   */
  readonly inputs?: readonly StageInput[];
  /**
   * For a stage without `inputs`: when > 0 it reads the previous stage over `[date - lookbackDays,
   * date]`, so dates depend on earlier ones. With `inputs`, each input has its own lookback.
   * @default 0
   */
  readonly lookbackDays?: number;
  /** Tables whose rows for the date (column `day`) this stage replaces on every run. */
  readonly owns: readonly string[];
  /** One-sentence description, shown by `hindsight status` and in the console. */
  readonly description: string;
  /**
   * False when `hindsight verify` cannot recompute this stage from the database alone, because its
   * rows come from outside it (an API, files that change): a rerun for a past date could differ with
   * no code change. Verify lists such a stage as skipped, with `unverifiableReason`.
   * @default true
   */
  readonly verifiable?: boolean;
  /** Why the stage is not verifiable: required when `verifiable` is false, shown by `hindsight verify`. */
  readonly unverifiableReason?: string;
  /**
   * Columns of an earlier stage's tables that this stage writes (an UPDATE marking rows it read),
   * by table: `{ raw_orders: ['rejected_reason'] }`. The owner does not write them, so `hindsight
   * verify` leaves them out when it compares the owner's rows.
   * @default - none
   */
  readonly annotates?: Readonly<Record<string, readonly string[]>>;
  /**
   * Produces the date's rows with set-based SQL (a fixed number of statements, whatever the
   * volume). The runner has already deleted the owned rows for the date. Returns rows written.
   */
  readonly run: (context: StageContext) => Promise<number>;
}

/** One input of a stage: a stage name (read on the date alone), or the stage and how many days back it reads. */
export type StageInput = string | { readonly stage: string; readonly lookbackDays?: number };

/** A declared stage: its definition, with `lookbackDays` filled in. */
export type Stage = Readonly<StageDefinition> & { readonly lookbackDays: number };

/** Declares a stage. Validation of names, versions and inputs happens when the ordered list is built. */
export function defineStage(definition: StageDefinition): Stage {
  return Object.freeze({
    ...definition,
    lookbackDays: definition.lookbackDays ?? 0,
    owns: Object.freeze([...definition.owns]),
    ...(definition.inputs === undefined ? {} : { inputs: Object.freeze([...definition.inputs]) }),
  });
}
