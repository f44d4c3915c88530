import type { IsoDate } from '../engine/dates';
import type { SqlExecutor } from '../engine/sql';

/** Records that the daily workflow was started for `date` (once; a second start changes nothing). */
export async function recordDueDate(sql: SqlExecutor, date: IsoDate): Promise<void> {
  await sql.query('INSERT INTO hindsight_due_dates (day) VALUES ($1::date) ON CONFLICT (day) DO NOTHING', [
    date,
  ]);
}

/** The first and last dates the daily workflow was started for; null before its first run. */
export async function readDueRange(sql: SqlExecutor): Promise<{ from: IsoDate; to: IsoDate } | null> {
  const { rows } = await sql.query<{ first: string | null; last: string | null }>(
    'SELECT min(day) AS first, max(day) AS last FROM hindsight_due_dates',
  );
  const { first, last } = rows[0] ?? { first: null, last: null };
  return first === null || last === null ? null : { from: first, to: last };
}

/**
 * Where history starts: the first date of the ledger or of the due dates, whichever is earlier (the
 * auto plan covers both); null when nothing ever ran or was due.
 */
export async function readHistoryStart(sql: SqlExecutor): Promise<IsoDate | null> {
  const { rows } = await sql.query<{ first: string | null }>(
    `SELECT least((SELECT min(day) FROM hindsight_stage_state), (SELECT min(day) FROM hindsight_due_dates)) AS first`,
  );
  return rows[0]?.first ?? null;
}
