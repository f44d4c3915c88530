/**
 * `hindsight/testing`: a pipeline's own tests run its stages the way a run does — Hindsight's
 * migrations and the pipeline's, one transaction per (date, stage) with the ledger row — on an
 * in-memory PGlite, with no data directory, no workflows and no CDK.
 */
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import type { IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { SqlRow, SqlValue } from '../lambdas/engine/sql';
import type { PipelineParams } from '../lambdas/engine/stage';
import { loadMigrations, migrate } from '../lambdas/ledger/migrator';
import { runStage, type StageRunResult } from '../lambdas/workflow/stage-runner';

export interface TestDatabaseOptions {
  /** The pipeline whose stages `runStages` runs. */
  readonly pipeline: Pipeline;
  /** The pipeline's migrations folder (what `hindsight:migrations` names). */
  readonly migrations: string;
  /** The pipeline's parameters, as `hindsight:params` would set them. @default {} */
  readonly params?: PipelineParams;
}

/** An in-memory database with the pipeline's tables, and its stages ready to run. */
export interface TestDatabase {
  /**
   * Runs `stages` (every stage by default, in pipeline order) for each date in turn, each in its
   * own transaction with its ledger row, as the daily workflow does.
   */
  runStages(dates: readonly IsoDate[], stages?: readonly string[]): Promise<StageRunResult[]>;
  /** A query on the database: rows come back typed as the adapters type them (DATE as text). */
  query<Row extends SqlRow = SqlRow>(text: string, values?: readonly SqlValue[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** Opens an in-memory PGlite database and applies Hindsight's migrations, then the pipeline's. */
export async function openTestDatabase(options: TestDatabaseOptions): Promise<TestDatabase> {
  const sql = await PgliteSqlClient.open(undefined);
  await migrate(sql, loadMigrations(options.migrations));
  const params = options.params ?? {};
  // Every call is a new holder of the lease, as every run is: its token moves the fence forward.
  let fenceToken = 0;
  return {
    async runStages(dates, stages = options.pipeline.names) {
      fenceToken++;
      const results: StageRunResult[] = [];
      for (const date of dates)
        for (const stage of stages)
          results.push(await runStage(sql, options.pipeline, { stage, date, fenceToken }, params));
      return results;
    },
    async query<Row extends SqlRow = SqlRow>(text: string, values: readonly SqlValue[] = []) {
      return (await sql.query<Row>(text, values)).rows;
    },
    close: () => sql.close(),
  };
}
