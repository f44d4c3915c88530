import type { IsoDate } from '../engine/dates';
import { type SqlClient, type SqlExecutor, sqlJson } from '../engine/sql';

/** One date of a stored plan. */
export interface StoredPlannedDate {
  readonly position: number;
  readonly date: IsoDate;
  readonly startStage: string;
  /** The stages the date reruns; null for a plan stored before stage graphs (it reruns from `startStage` on). */
  readonly stages: readonly string[] | null;
}

interface PlanRecord extends Record<string, unknown> {
  position: number;
  day: string;
  start_stage: string;
  stages: string[] | null;
}

const PLAN_COLUMNS = 'position, day, start_stage, stages';

function toStoredDate(row: PlanRecord): StoredPlannedDate {
  return { position: row.position, date: row.day, startStage: row.start_stage, stages: row.stages };
}

/** Dates per INSERT, so no statement's parameters grow with the plan. */
const INSERT_CHUNK = 1_000;

/**
 * How long a plan is kept. A backfill may be redriven for 14 days after it failed, and runs a
 * date a minute or so: no execution still needs its plan after this.
 */
export const PLAN_RETENTION_DAYS = 90;

/**
 * Stores the dates `executionId` planned, replacing what it stored before (a retried "Validate And
 * Plan" plans again), in one transaction; plans older than the retention go at the same time.
 */
export async function saveBackfillPlan(
  sql: SqlClient,
  executionId: string,
  dates: readonly {
    readonly date: IsoDate;
    readonly startStage: string;
    readonly stages: readonly string[];
  }[],
): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query('DELETE FROM hindsight_backfill_plans WHERE execution_id = $1', [executionId]);
    await tx.query(
      `DELETE FROM hindsight_backfill_plans WHERE planned_at < now() - make_interval(days => $1::int)`,
      [PLAN_RETENTION_DAYS],
    );
    for (let first = 0; first < dates.length; first += INSERT_CHUNK) {
      const chunk = dates.slice(first, first + INSERT_CHUNK).map((planned, i) => ({
        position: first + i,
        day: planned.date,
        stage: planned.startStage,
        stages: planned.stages,
      }));
      await tx.query(
        `INSERT INTO hindsight_backfill_plans (execution_id, position, day, start_stage, stages)
         SELECT $1, (item->>'position')::int, (item->>'day')::date, item->>'stage', item->'stages'
         FROM jsonb_array_elements($2::jsonb) AS item`,
        [executionId, sqlJson(chunk)],
      );
    }
  });
}

/** The planned date at `position` of `executionId`'s plan and the one before it (absent ones are left out). */
export async function readPlannedDateAndPrevious(
  sql: SqlExecutor,
  executionId: string,
  position: number,
): Promise<{ readonly current?: StoredPlannedDate; readonly previous?: StoredPlannedDate }> {
  const { rows } = await sql.query<PlanRecord>(
    `SELECT ${PLAN_COLUMNS} FROM hindsight_backfill_plans
     WHERE execution_id = $1 AND position BETWEEN $2::int - 1 AND $2::int ORDER BY position`,
    [executionId, position],
  );
  const byPosition = new Map(rows.map((row) => [row.position, toStoredDate(row)]));
  const current = byPosition.get(position);
  const previous = byPosition.get(position - 1);
  return { ...(current ? { current } : {}), ...(previous ? { previous } : {}) };
}

/** The whole stored plan of `executionId`, in order (for `status`, tests and the curious). */
export async function readBackfillPlan(sql: SqlExecutor, executionId: string): Promise<StoredPlannedDate[]> {
  const { rows } = await sql.query<PlanRecord>(
    `SELECT ${PLAN_COLUMNS} FROM hindsight_backfill_plans WHERE execution_id = $1 ORDER BY position`,
    [executionId],
  );
  return rows.map(toStoredDate);
}
