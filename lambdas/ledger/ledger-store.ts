import type { IsoDate } from '../engine/dates';
import type { InputRunIds, LedgerEntry, LedgerRow } from '../engine/ledger';
import type { Lineage } from '../engine/pipeline';
import {
  type SqlExecutor,
  SqlResultTooLargeError,
  type SqlRow,
  type SqlValue,
  sqlJson,
  sqlTimestamp,
  sqlUuid,
} from '../engine/sql';

interface StateRecord extends Record<string, unknown> {
  day: string;
  stage: string;
  version: number;
  lineage: Lineage;
  input_run_ids: InputRunIds;
  run_id: string;
  execution_id: string | null;
  fence_token: number;
  started_at: string;
  finished_at: string;
  rows_written: number;
}

const STATE_COLUMNS = `day, stage, version, lineage, input_run_ids, run_id::text AS run_id, execution_id,
  fence_token, started_at, finished_at, rows_written`;

/**
 * Rows per statement of a whole-ledger read. The RDS Data API answers at most 1 MiB (and, as its
 * documentation once said, 1,000 records) per statement; a ledger row is about 0.5 KB there.
 */
export const LEDGER_PAGE_ROWS = 1_000;

/**
 * The whole current ledger (or a date range of it): the planner's only read. Read in pages by
 * (day, stage), so a ledger of any length fits the Data API's response limit; a page that is still
 * too large (a stage with a long lookback records one input run id per day) is read again in halves.
 */
export async function readLedger(
  sql: SqlExecutor,
  range?: { from: IsoDate; to: IsoDate },
): Promise<LedgerRow[]> {
  const records = await readInPages<StateRecord>(sql, {
    select: `SELECT ${STATE_COLUMNS} FROM hindsight_stage_state`,
    where: range ? ['day BETWEEN $1::date AND $2::date'] : [],
    params: range ? [range.from, range.to] : [],
    key: [
      ['day', 'date'],
      ['stage', 'text'],
    ],
  });
  return records.map(toLedgerRow);
}

interface PagedQuery {
  /** `SELECT … FROM …`, without WHERE, ORDER BY or LIMIT. */
  readonly select: string;
  /** Conditions ANDed together, using `$1 … $n` of `params`. */
  readonly where: readonly string[];
  readonly params: readonly SqlValue[];
  /** The primary key's two columns with their SQL types: pages follow it in ascending order. */
  readonly key: readonly [readonly [string, string], readonly [string, string]];
}

/** Every row of `query`, in key order, a keyset page at a time. */
async function readInPages<Row extends SqlRow>(sql: SqlExecutor, query: PagedQuery): Promise<Row[]> {
  const rows: Row[] = [];
  const [[first, firstType], [second, secondType]] = query.key;
  let pageRows = LEDGER_PAGE_ROWS;
  for (;;) {
    const last = rows.at(-1);
    const params: SqlValue[] = [...query.params];
    const where = [...query.where];
    if (last !== undefined) {
      params.push(String(last[first]), String(last[second]));
      where.push(
        `(${first}, ${second}) > ($${params.length - 1}::${firstType}, $${params.length}::${secondType})`,
      );
    }
    params.push(pageRows);
    const statement =
      `${query.select}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY ${first}, ${second} LIMIT $${params.length}`;
    let page: Row[];
    try {
      ({ rows: page } = await sql.query<Row>(statement, params));
    } catch (error) {
      if (!(error instanceof SqlResultTooLargeError) || pageRows === 1) throw error;
      pageRows = Math.max(1, Math.floor(pageRows / 2));
      continue;
    }
    rows.push(...page);
    if (page.length < pageRows) return rows;
  }
}

/**
 * The ledger rows of a date range, and those of the ledger's first date, in one query: a reader of
 * a window (a daily run's earlier dates) also learns where history starts, as the planner needs.
 */
export async function readLedgerWindow(
  sql: SqlExecutor,
  range: { from: IsoDate; to: IsoDate },
): Promise<LedgerRow[]> {
  const { rows } = await sql.query<StateRecord>(
    `SELECT ${STATE_COLUMNS} FROM hindsight_stage_state
     WHERE day BETWEEN $1::date AND $2::date OR day = (SELECT min(day) FROM hindsight_stage_state)
     ORDER BY day, stage`,
    [range.from, range.to],
  );
  return rows.map(toLedgerRow);
}

/** The ledger rows of one stage over a window: a stage's inputs. */
export async function readStageWindow(
  sql: SqlExecutor,
  stage: string,
  from: IsoDate,
  to: IsoDate,
): Promise<LedgerRow[]> {
  const { rows } = await sql.query<StateRecord>(
    `SELECT ${STATE_COLUMNS} FROM hindsight_stage_state WHERE stage = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day`,
    [stage, from, to],
  );
  return rows.map(toLedgerRow);
}

function toLedgerRow(record: StateRecord): LedgerRow {
  return {
    date: record.day,
    stage: record.stage,
    version: record.version,
    lineage: record.lineage,
    inputRunIds: record.input_run_ids,
    runId: record.run_id,
    executionId: record.execution_id,
    fenceToken: record.fence_token,
    startedAt: record.started_at,
    finishedAt: record.finished_at,
    rowsWritten: record.rows_written,
  };
}

/** Only the provenance, for the planner. */
export function toEntry(row: LedgerRow): LedgerEntry {
  const { date, stage, version, lineage, inputRunIds, runId } = row;
  return { date, stage, version, lineage, inputRunIds, runId };
}

export interface HistoryRow {
  readonly runId: string;
  readonly date: IsoDate;
  readonly stage: string;
  readonly version: number;
  readonly executionId: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly rowsWritten: number;
}

/** The run history, oldest first (or the last `limit` runs). */
export async function readHistory(sql: SqlExecutor, limit?: number): Promise<HistoryRow[]> {
  const { rows } = await sql.query<{
    run_id: string;
    day: string;
    stage: string;
    version: number;
    execution_id: string | null;
    started_at: string;
    finished_at: string;
    rows_written: number;
  }>(
    `SELECT * FROM (
       SELECT run_id::text AS run_id, day, stage, version, execution_id, started_at, finished_at, rows_written
       FROM hindsight_run_history ORDER BY finished_at DESC, run_id ${limit === undefined ? '' : 'LIMIT $1'}
     ) recent ORDER BY finished_at, run_id`,
    limit === undefined ? [] : [limit],
  );
  return rows.map((row) => ({
    runId: row.run_id,
    date: row.day,
    stage: row.stage,
    version: row.version,
    executionId: row.execution_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    rowsWritten: row.rows_written,
  }));
}

/** Every applied transition, by date: what `plan` needs to list the transitions each date will get. */
export async function readAppliedTransitions(sql: SqlExecutor): Promise<Map<IsoDate, Set<string>>> {
  const rows = await readInPages<{ day: string; transition_id: string }>(sql, {
    select: 'SELECT day, transition_id FROM hindsight_transitions_applied',
    where: [],
    params: [],
    key: [
      ['transition_id', 'text'],
      ['day', 'date'],
    ],
  });
  const applied = new Map<IsoDate, Set<string>>();
  for (const row of rows) {
    const ids = applied.get(row.day) ?? new Set<string>();
    ids.add(row.transition_id);
    applied.set(row.day, ids);
  }
  return applied;
}

/** Upserts the current state and appends to the history in one statement. */
export async function recordRun(tx: SqlExecutor, run: LedgerRow): Promise<void> {
  await tx.query(
    `WITH state AS (
       INSERT INTO hindsight_stage_state
         (day, stage, version, lineage, input_run_ids, run_id, execution_id, fence_token, started_at, finished_at, rows_written)
       VALUES ($1::date, $2, $3, $4::jsonb, $5::jsonb, $6::uuid, $7, $8, $9::timestamptz, $10::timestamptz, $11)
       ON CONFLICT (day, stage) DO UPDATE SET
         version = EXCLUDED.version, lineage = EXCLUDED.lineage, input_run_ids = EXCLUDED.input_run_ids,
         run_id = EXCLUDED.run_id, execution_id = EXCLUDED.execution_id, fence_token = EXCLUDED.fence_token,
         started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, rows_written = EXCLUDED.rows_written
       RETURNING *
     )
     INSERT INTO hindsight_run_history
       (run_id, day, stage, version, lineage, input_run_ids, execution_id, fence_token, started_at, finished_at, rows_written)
     SELECT run_id, day, stage, version, lineage, input_run_ids, execution_id, fence_token, started_at, finished_at, rows_written
     FROM state`,
    [
      run.date,
      run.stage,
      run.version,
      sqlJson(run.lineage),
      sqlJson(run.inputRunIds),
      sqlUuid(run.runId),
      run.executionId,
      run.fenceToken,
      sqlTimestamp(run.startedAt),
      sqlTimestamp(run.finishedAt),
      run.rowsWritten,
    ],
  );
}

/** The execution that last ran `stage` for `date`, or null (a backfilled date checks its predecessor with it). */
export async function readLastExecution(
  sql: SqlExecutor,
  date: IsoDate,
  stage: string,
): Promise<string | null> {
  const { rows } = await sql.query<{ execution_id: string | null }>(
    'SELECT execution_id FROM hindsight_stage_state WHERE day = $1::date AND stage = $2',
    [date, stage],
  );
  return rows[0]?.execution_id ?? null;
}

/** Ids of the transitions already applied to `date`. */
export async function readTransitionsAppliedTo(sql: SqlExecutor, date: IsoDate): Promise<Set<string>> {
  const { rows } = await sql.query<{ transition_id: string }>(
    'SELECT transition_id FROM hindsight_transitions_applied WHERE day = $1::date',
    [date],
  );
  return new Set(rows.map((row) => row.transition_id));
}

/** Records, in the transition's transaction, that it was applied to the date. */
export async function recordTransitionApplied(
  tx: SqlExecutor,
  applied: { transitionId: string; date: IsoDate; stage: string; toVersion: number; executionId: string },
): Promise<void> {
  await tx.query(
    `INSERT INTO hindsight_transitions_applied (transition_id, day, stage, target_version, execution_id)
     VALUES ($1, $2::date, $3, $4, $5)`,
    [applied.transitionId, applied.date, applied.stage, applied.toVersion, applied.executionId],
  );
}
