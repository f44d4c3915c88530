import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { addDays, type IsoDate } from '../engine/dates';
import {
  HindsightError,
  InvalidInputError,
  MissingInputError,
  StageFailedError,
  StaleFenceTokenError,
} from '../engine/errors';
import type { LedgerRow } from '../engine/ledger';
import type { Lineage, Pipeline } from '../engine/pipeline';
import { executionId, fenceToken, isoDate, parseInput, stageName } from '../engine/schemas';
import { type SqlClient, type SqlExecutor, sqlJson, sqlTimestamp, sqlUuid } from '../engine/sql';
import type { PipelineParams } from '../engine/stage';
import { readStageWindow } from '../ledger/ledger-store';

/** What one stage run needs: which stage, which date, and the lease's fencing token. */
export interface StageRunRequest {
  readonly stage: string;
  readonly date: IsoDate;
  readonly fenceToken: number;
  readonly executionId?: string;
}

export interface StageRunResult {
  readonly stage: string;
  readonly date: IsoDate;
  readonly version: number;
  readonly runId: string;
  readonly rowsWritten: number;
  readonly lineage: Lineage;
  readonly inputRunIds: Readonly<Record<IsoDate, string>>;
}

export function stageRunRequestSchema(pipeline: Pipeline) {
  return z.strictObject(
    {
      stage: stageName(pipeline.names),
      date: isoDate,
      fenceToken,
      executionId: executionId.optional(),
    },
    { error: 'an object like {"stage": "transform", "date": "2026-01-31", "fenceToken": 1}' },
  );
}

/**
 * Runs one stage for one date in one transaction: check and advance the fencing token, read the
 * inputs' provenance, delete the stage's rows for the date, run the stage, record the run.
 * Either all of it commits or none of it does.
 *
 * Round trips: 1 (fence) + 1 (inputs; none for the first stage) + one DELETE per owned table
 * + the stage's own statements + 1 (ledger and history), whatever the number of rows.
 */
export async function runStage(
  sql: SqlClient,
  pipeline: Pipeline,
  request: StageRunRequest,
  params: PipelineParams,
): Promise<StageRunResult> {
  const {
    stage: name,
    date,
    fenceToken: token,
    executionId: execution,
  } = parseInput(stageRunRequestSchema(pipeline), request);
  const stage = pipeline.stage(name);
  const input = pipeline.inputOf(name);
  const windowStart = addDays(date, -stage.lookbackDays);
  const runId = randomUUID();

  try {
    return await sql.transaction(async (tx) => {
      const startedAt = new Date().toISOString();
      await checkFence(tx, token);

      let lineage: Lineage = {};
      const inputRunIds: Record<IsoDate, string> = {};
      if (input) {
        const inputs = await readStageWindow(tx, input.name, windowStart, date);
        const sameDay = inputs.find((row) => row.date === date);
        if (!sameDay) throw new MissingInputError(name, date, input.name);
        for (const row of inputs) inputRunIds[row.date] = row.runId;
        // The date's own input carries the lineage; earlier window dates are covered by their run ids.
        lineage = { ...sameDay.lineage, [input.name]: sameDay.version };
      }

      for (const table of stage.owns) await tx.query(`DELETE FROM ${table} WHERE day = $1::date`, [date]);
      const rowsWritten = await stage.run({ sql: tx, date, windowStart, params });
      if (!Number.isInteger(rowsWritten) || rowsWritten < 0) {
        throw new HindsightError(
          `Stage ${name} returned ${String(rowsWritten)} as its row count; return the rows written.`,
        );
      }

      await recordRun(tx, {
        date,
        stage: name,
        version: stage.version,
        lineage,
        inputRunIds,
        runId,
        executionId: execution ?? null,
        fenceToken: token,
        startedAt,
        finishedAt: new Date().toISOString(),
        rowsWritten,
      });
      return { stage: name, date, version: stage.version, runId, rowsWritten, lineage, inputRunIds };
    });
  } catch (error) {
    if (
      error instanceof InvalidInputError ||
      error instanceof StaleFenceTokenError ||
      error instanceof MissingInputError
    ) {
      throw error;
    }
    throw new StageFailedError(name, date, error);
  }
}

/** Inside a transaction: moves the fence to `token`, refusing a token older than one already used. */
export async function checkFence(tx: SqlExecutor, token: number): Promise<void> {
  const { rowCount } = await tx.query('UPDATE hindsight_fence SET token = $1 WHERE id = 1 AND token <= $1', [
    token,
  ]);
  if (rowCount === 1) return;
  const { rows } = await tx.query<{ token: number }>('SELECT token FROM hindsight_fence WHERE id = 1');
  throw new StaleFenceTokenError(token, rows[0]?.token ?? Number.NaN);
}

/** Upserts the current state and appends to the history in one statement. */
async function recordRun(tx: SqlExecutor, run: LedgerRow): Promise<void> {
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
