/**
 * Verification: does what is stored equal what the current code computes? For each fresh
 * (date, stage), in one transaction that is always rolled back: check the cell is still fresh,
 * keep a copy of the rows stored for the date in every table the stage owns, run the stage exactly
 * as a run does (delete the owned rows, `run`), and compare the rows it wrote with the copy, as
 * multisets, in the database. Nothing is kept: not the data, not the ledger, not the fence, and no
 * lease is needed, since the transaction only ever sees committed data and never commits.
 *
 * Round trips per cell: 3 + 3 per owned table (copy, delete, compare) + the stage's own statements,
 * whatever the number of rows: the comparison runs in PostgreSQL, so no row crosses the wire but
 * the few examples.
 *
 * `hindsight verify` (local and `--aws`) and the Verify workflow's Tasks use these same functions.
 */
import { randomBytes } from 'node:crypto';
import { addDays, type IsoDate } from '../engine/dates';
import { describeCause, HindsightError } from '../engine/errors';
import type { Pipeline } from '../engine/pipeline';
import { indexLedger, staleness } from '../engine/plan';
import type { SqlClient, SqlExecutor, SqlRow } from '../engine/sql';
import type { PipelineParams, Stage } from '../engine/stage';
import {
  type CellVerdict,
  chooseCells,
  type DateVerification,
  parseVerifyInput,
  type SelectedDate,
  type TableComparison,
  type VerifyReport,
  type VerifySelection,
  verifyTotals,
} from '../engine/verify';
import { readLedger, readLedgerWindow, toEntry } from '../ledger/ledger-store';
import { replaceOwnedRows } from './stage-runner';

/** Runs `work` in one transaction that is always rolled back, and resolves to what `work` returned. */
export type RolledBackTransaction = <T>(work: (tx: SqlExecutor) => Promise<T>) => Promise<T>;

/** Thrown out of a finished `work` so its transaction rolls back; caught below, never seen outside. */
class RollBack extends HindsightError {}

/**
 * Rolled-back transactions on `sql`: the work runs, then a private error makes the adapter roll
 * the transaction back (the SqlClient contract: a transaction whose work throws rolls back).
 */
export function rollingBack(sql: Pick<SqlClient, 'transaction'>): RolledBackTransaction {
  return async <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    const rollBack = new RollBack('verify rolls back every transaction it opens');
    let result: { value: T } | undefined;
    try {
      await sql.transaction(async (tx) => {
        result = { value: await work(tx) };
        throw rollBack;
      });
    } catch (error) {
      if (error !== rollBack) throw error;
    }
    if (result === undefined) throw new HindsightError('A rolled-back transaction ended without its result.');
    return result.value;
  };
}

/** What verification needs: the stage code and its parameters, and rolled-back transactions. */
export interface VerifyDependencies {
  readonly pipeline: Pipeline;
  readonly params: PipelineParams;
  readonly rolledBack: RolledBackTransaction;
}

/** Where the stored rows are copied inside a cell's transaction: a temporary table, gone with the rollback. */
const STORED_COPY = 'verify_stored_rows';
/** Example rows shown per side of a differing table. */
const EXAMPLES = 3;

/** A new seed for a sample drawn without one: 8 hex digits, printed so the draw can be repeated. */
export function newSeed(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The cells a verify input covers, from one read of the ledger: the input checked (refused with
 * field, value and accepted form), the range, the stages, the sampled dates, fresh cells only.
 */
export async function chooseVerification(
  sql: SqlExecutor,
  pipeline: Pipeline,
  raw: unknown,
  options: { readonly today: IsoDate; readonly maxDays: number; readonly seed?: () => string },
): Promise<VerifySelection> {
  const request = parseVerifyInput(raw, pipeline, options.today, options.maxDays);
  const index = indexLedger(pipeline, (await readLedger(sql)).map(toEntry));
  const seed =
    request.sample !== undefined && request.seed === undefined ? (options.seed ?? newSeed)() : undefined;
  return chooseCells(index, request, seed);
}

/**
 * Recomputes one fresh cell in a rolled-back transaction and compares. The transaction reads one
 * snapshot (REPEATABLE READ): the ledger, the inputs and the stored rows as of the same commit.
 */
export async function verifyCell(
  deps: VerifyDependencies,
  date: IsoDate,
  stageName: string,
  historyStart: IsoDate,
): Promise<CellVerdict> {
  const stage = deps.pipeline.stage(stageName);
  const rewritten = (reasons: CellStaleReasons = []): CellVerdict => ({
    stage: stage.name,
    outcome: 'stale',
    reasons,
    rewrittenMeanwhile: true,
  });
  try {
    return await deps.rolledBack(async (tx): Promise<CellVerdict> => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const reasons = await stalenessNow(tx, deps.pipeline, stage, date, historyStart);
      if (reasons.length > 0) return rewritten(reasons);

      await tx.query(
        `CREATE TEMPORARY TABLE ${STORED_COPY} (owner TEXT NOT NULL, r TEXT NOT NULL) ON COMMIT DROP`,
      );
      for (const table of stage.owns) {
        await tx.query(
          `INSERT INTO pg_temp.${STORED_COPY} (owner, r)
           SELECT $2::text, ${rowText(deps.pipeline, table, 't')} FROM ${table} AS t WHERE t.day = $1::date`,
          [date, table],
        );
      }
      try {
        await replaceOwnedRows(tx, deps.pipeline, stage, date, deps.params);
      } catch (error) {
        if (isSerializationFailure(error)) return rewritten();
        return { stage: stage.name, outcome: 'failed', error: describeCause(error) };
      }
      const tables: TableComparison[] = [];
      for (const table of stage.owns) tables.push(await compareTable(tx, deps.pipeline, table, date));
      const differs = tables.some((table) => table.onlyStored + table.onlyRecomputed > 0);
      return { stage: stage.name, outcome: differs ? 'differs' : 'same', tables };
    });
  } catch (error) {
    // A run that committed this cell after our snapshot makes our DELETE fail to serialize.
    if (isSerializationFailure(error)) return rewritten();
    throw error;
  }
}

type CellStaleReasons = Extract<CellVerdict, { outcome: 'stale' }>['reasons'];

/** The cell's staleness by the ledger as this transaction sees it: its own row and its inputs' over their windows. */
async function stalenessNow(
  tx: SqlExecutor,
  pipeline: Pipeline,
  stage: Stage,
  date: IsoDate,
  historyStart: IsoDate,
): Promise<CellStaleReasons> {
  const rows = await readLedgerWindow(tx, {
    from: addDays(date, -pipeline.lookbackOf(stage.name)),
    to: date,
  });
  return staleness(indexLedger(pipeline, rows.map(toEntry)), date, stage.name, { historyStart });
}

interface ComparisonRow extends SqlRow {
  'verify.stored': number;
  'verify.recomputed': number;
  'verify.only_stored': number;
  'verify.only_recomputed': number;
  'verify.side': 'stored' | 'recomputed' | null;
}

/**
 * A row of `table` (alias `alias`) as the text of its canonical JSONB: every column by name, NUMERIC
 * with its scale, timestamps to the microsecond, JSON with its keys ordered. Columns other stages
 * write (`annotates`) are left out. Text, so that equal means identical (JSONB's own equality
 * would take 1.5 for 1.50). Column names are identifiers (checked by definePipeline): inlined.
 */
function rowText(pipeline: Pipeline, table: string, alias: string): string {
  const ignored = annotatedColumns(pipeline, table).map((column) => `'${column}'`);
  return `(to_jsonb(${alias}) - ARRAY[${ignored.join(', ')}]::text[])::text`;
}

/** The columns of `table` that stages other than its owner write. */
function annotatedColumns(pipeline: Pipeline, table: string): string[] {
  return [...new Set(pipeline.stages.flatMap((stage) => stage.annotates?.[table] ?? []))];
}

/**
 * The stored copy against what the stage wrote, as multisets of rows (`EXCEPT ALL` over their
 * text, see `rowText`). One statement: the counts, and up to three example rows of each side in
 * the table's own columns, ordered by their text so a changed row's two versions line up.
 */
async function compareTable(
  tx: SqlExecutor,
  pipeline: Pipeline,
  table: string,
  date: IsoDate,
): Promise<TableComparison> {
  const typed = (r: string) => `jsonb_populate_record(NULL::${table}, ${r}::jsonb)`;
  const { rows } = await tx.query<ComparisonRow>(
    `WITH stored AS (SELECT r FROM pg_temp.${STORED_COPY} WHERE owner = $2::text),
          recomputed AS (SELECT ${rowText(pipeline, table, 't')} AS r FROM ${table} AS t WHERE t.day = $1::date),
          only_stored AS (SELECT r FROM stored EXCEPT ALL SELECT r FROM recomputed),
          only_recomputed AS (SELECT r FROM recomputed EXCEPT ALL SELECT r FROM stored),
          examples AS (
            (SELECT 'stored' AS side, r FROM only_stored ORDER BY ${typed('r')}::text LIMIT ${EXAMPLES})
            UNION ALL
            (SELECT 'recomputed' AS side, r FROM only_recomputed ORDER BY ${typed('r')}::text LIMIT ${EXAMPLES}))
     SELECT (SELECT count(*) FROM stored) AS "verify.stored",
            (SELECT count(*) FROM recomputed) AS "verify.recomputed",
            (SELECT count(*) FROM only_stored) AS "verify.only_stored",
            (SELECT count(*) FROM only_recomputed) AS "verify.only_recomputed",
            e.side AS "verify.side", (${typed('e.r')}).*
     FROM (SELECT 1) AS one LEFT JOIN examples AS e ON true
     ORDER BY e.side, ${typed('e.r')}::text`,
    [date, table],
  );
  const first = rows[0];
  const ignored = new Set(annotatedColumns(pipeline, table));
  const examples = (side: 'stored' | 'recomputed') =>
    rows
      .filter((row) => row['verify.side'] === side)
      .map((row) => withoutColumns(row, (column) => column.startsWith('verify.') || ignored.has(column)));
  return {
    table,
    stored: Number(first?.['verify.stored'] ?? 0),
    recomputed: Number(first?.['verify.recomputed'] ?? 0),
    onlyStored: Number(first?.['verify.only_stored'] ?? 0),
    onlyRecomputed: Number(first?.['verify.only_recomputed'] ?? 0),
    examples: { onlyStored: examples('stored'), onlyRecomputed: examples('recomputed') },
  };
}

function withoutColumns(row: SqlRow, drop: (column: string) => boolean): SqlRow {
  return Object.fromEntries(Object.entries(row).filter(([column]) => !drop(column)));
}

/** SQLSTATE 40001, however the adapter reports it (pg and PGlite: `code`; the Data API: its message). */
function isSerializationFailure(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if ((cause as Error & { code?: unknown }).code === '40001') return true;
    if (/could not serialize access/i.test(cause.message)) return true;
  }
  return false;
}

/** Verifies the chosen cells of one date, in stage order; cells that are not fresh pass through. */
export async function verifyDate(
  deps: VerifyDependencies,
  selected: SelectedDate,
  historyStart: IsoDate,
  onCell?: (date: IsoDate, cell: CellVerdict) => void,
): Promise<DateVerification> {
  const cells: CellVerdict[] = [];
  for (const cell of selected.cells) {
    const verdict =
      cell.outcome === 'pending' ? await verifyCell(deps, selected.date, cell.stage, historyStart) : cell;
    onCell?.(selected.date, verdict);
    cells.push(verdict);
  }
  return { date: selected.date, cells };
}

/** Verifies a selection, date by date in ascending order, each date's stages in pipeline order. */
export async function verifySelection(
  deps: VerifyDependencies,
  selection: VerifySelection,
  onCell?: (date: IsoDate, cell: CellVerdict) => void,
): Promise<VerifyReport> {
  const dates: DateVerification[] = [];
  for (const selected of selection.dates) {
    dates.push(await verifyDate(deps, selected, selection.historyStart ?? selected.date, onCell));
  }
  const { from, to, stages, sample } = selection;
  return { from, to, stages, sample, dates, totals: verifyTotals(dates) };
}
