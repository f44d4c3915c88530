import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { addDays, type IsoDate } from '../engine/dates';
import {
  HindsightError,
  InvalidInputError,
  MissingInputError,
  StageFailedError,
  StaleFenceTokenError,
} from '../engine/errors';
import type { InputRunIds } from '../engine/ledger';
import type { Lineage, Pipeline } from '../engine/pipeline';
import { executionId, fenceToken, isoDate, parseInput, stageName } from '../engine/schemas';
import type { SqlClient, SqlExecutor } from '../engine/sql';
import type { PipelineParams, Stage } from '../engine/stage';
import { checkFence } from '../ledger/fence';
import { readStageWindow, recordRun } from '../ledger/ledger-store';

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
  readonly inputRunIds: InputRunIds;
}

export function stageRunRequestSchema(pipeline: Pipeline) {
  return z.strictObject(
    {
      stage: stageName(pipeline.names),
      date: isoDate,
      fenceToken,
      executionId: z.optional(executionId),
    },
    { error: 'an object like {"stage": "transform", "date": "2026-01-31", "fenceToken": 1}' },
  );
}

/**
 * Inside a transaction: deletes the stage's rows for the date from every table it owns, then runs
 * the stage, which writes them anew. Returns the rows written. What a run commits and what
 * `verify` recomputes (and rolls back) are this same code.
 */
export async function replaceOwnedRows(
  tx: SqlExecutor,
  pipeline: Pipeline,
  stage: Stage,
  date: IsoDate,
  params: PipelineParams,
): Promise<number> {
  for (const table of stage.owns) await tx.query(`DELETE FROM ${table} WHERE day = $1::date`, [date]);
  const windowStart = addDays(date, -pipeline.lookbackOf(stage.name));
  const windowStarts = Object.fromEntries(
    pipeline.inputsOf(stage.name).map((input) => [input.stage, addDays(date, -input.lookbackDays)]),
  );
  const rowsWritten = await stage.run({ sql: tx, date, windowStart, windowStarts, params });
  if (!Number.isInteger(rowsWritten) || rowsWritten < 0) {
    throw new HindsightError(
      `Stage ${stage.name} returned ${String(rowsWritten)} as its row count; return the rows written.`,
    );
  }
  return rowsWritten;
}

/**
 * Runs one stage for one date in one transaction: check and advance the fencing token, read the
 * inputs' provenance, delete the stage's rows for the date, run the stage, record the run.
 * Either all of it commits or none of it does.
 *
 * Round trips: 1 (fence) + 1 per input (none for a source) + one DELETE per owned table
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
  const runId = randomUUID();

  try {
    return await sql.transaction(async (tx) => {
      const startedAt = new Date().toISOString();
      await checkFence(tx, token);

      const lineage: Record<string, number> = {};
      const inputRunIds: Record<string, Record<IsoDate, string>> = {};
      for (const input of pipeline.inputsOf(name)) {
        const rows = await readStageWindow(tx, input.stage, addDays(date, -input.lookbackDays), date);
        const sameDay = rows.find((row) => row.date === date);
        if (!sameDay) throw new MissingInputError(name, date, input.stage);
        inputRunIds[input.stage] = Object.fromEntries(rows.map((row) => [row.date, row.runId]));
        // The date's own inputs carry the lineage; earlier window dates are covered by their run ids.
        Object.assign(lineage, sameDay.lineage, { [input.stage]: sameDay.version });
      }

      const rowsWritten = await replaceOwnedRows(tx, pipeline, stage, date, params);

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
