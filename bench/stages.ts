/**
 * Sections 3 and 4 — each example stage on its own: SQL statements per (date, stage) at two
 * volumes (they must not grow with the rows), and rows per second on PGlite and PostgreSQL.
 */
import { addDays, dateRange, type IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import { CountingSqlClient, type SqlClient } from '../lambdas/engine/sql';
import { runStage } from '../lambdas/workflow/stage-runner';
import { best, progress, timed } from './measure';
import { sizeParams } from './project';
import { formatTable, int, ms } from './table';

export const SMALL_ROWS = 1_000;
export const LARGE_ROWS = 100_000;
/** Dates run through the whole chain at each volume; the first is a warm-up for the counts, the best time is kept. */
const SMALL_DATES = dateRange('2025-01-01', '2025-01-02');
const LARGE_DATES = dateRange('2025-06-01', '2025-06-02');

/** One stage run as measured: statements sent, wall time, rows read from its input and written. */
export interface StageSample {
  readonly stage: string;
  readonly date: IsoDate;
  readonly statements: number;
  readonly ms: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
}

/**
 * Runs the whole chain for each date at `rowsPerDay` through a counting client, and measures each
 * stage run. Rows in: the source rows generated (first stage) or the input stage's rows over the
 * stage's window, counted after the run (not timed).
 */
export async function runChain(
  inner: SqlClient,
  pipeline: Pipeline,
  dates: readonly IsoDate[],
  rowsPerDay: number,
): Promise<StageSample[]> {
  const sql = new CountingSqlClient(inner);
  const samples: StageSample[] = [];
  for (const date of dates) {
    for (const [i, stage] of pipeline.stages.entries()) {
      progress(`stages: ${inner.kind} ${int(rowsPerDay)} rows/day, ${date} ${stage.name}`);
      const before = sql.statements;
      const run = await timed(() =>
        runStage(sql, pipeline, { stage: stage.name, date, fenceToken: 1 }, sizeParams(rowsPerDay)),
      );
      const statements = sql.statements - before;
      let rowsIn = rowsPerDay;
      if (i > 0) {
        const table = pipeline.stages[i - 1].owns[0];
        const { rows } = await inner.query<{ n: number }>(
          `SELECT count(*) AS n FROM ${table} WHERE day BETWEEN $1::date AND $2::date`,
          [addDays(date, -stage.lookbackDays), date],
        );
        rowsIn = rows[0].n;
      }
      samples.push({
        stage: stage.name,
        date,
        statements,
        ms: run.ms,
        rowsIn,
        rowsOut: run.result.rowsWritten,
      });
    }
  }
  return samples;
}

export interface RoundTripResult {
  readonly rowsPerDay: readonly [number, number];
  readonly stages: readonly { readonly stage: string; readonly small: number; readonly large: number }[];
  readonly equal: boolean;
}

export interface ThroughputRow {
  readonly stage: string;
  readonly ms: number;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsInPerSecond: number;
}

export interface ThroughputResult {
  readonly rowsPerDay: number;
  readonly statistic: string;
  readonly pglite: readonly ThroughputRow[];
  /** null when no PostgreSQL binaries were found. */
  readonly postgres: readonly ThroughputRow[] | null;
  readonly postgresVersion: string | null;
}

/** Runs the chain at 1k and 100k rows per day on PGlite; returns the round trips and PGlite's 100k samples. */
export async function benchRoundTrips(
  sql: SqlClient,
  pipeline: Pipeline,
): Promise<{ roundTrips: RoundTripResult; large: StageSample[] }> {
  const small = await runChain(sql, pipeline, SMALL_DATES, SMALL_ROWS);
  const large = await runChain(sql, pipeline, LARGE_DATES, LARGE_ROWS);
  // Every date of a volume must agree, or "per (date, stage)" would not be one number.
  const perStage = (samples: readonly StageSample[], stage: string) => {
    const counts = new Set(samples.filter((s) => s.stage === stage).map((s) => s.statements));
    return counts.size === 1 ? [...counts][0] : Number.NaN;
  };
  const stages = pipeline.names.map((stage) => ({
    stage,
    small: perStage(small, stage),
    large: perStage(large, stage),
  }));
  return {
    roundTrips: {
      rowsPerDay: [SMALL_ROWS, LARGE_ROWS],
      stages,
      equal: stages.every((s) => s.small === s.large),
    },
    large,
  };
}

export async function benchLargeChain(sql: SqlClient, pipeline: Pipeline): Promise<StageSample[]> {
  return runChain(sql, pipeline, LARGE_DATES, LARGE_ROWS);
}

/** The fastest run of each stage over the dates measured. */
export function throughput(samples: readonly StageSample[], pipeline: Pipeline): ThroughputRow[] {
  return pipeline.names.map((stage) => {
    const runs = samples.filter((s) => s.stage === stage);
    const fastest = runs.find((s) => s.ms === best(runs.map((r) => r.ms)))!;
    return {
      stage,
      ms: fastest.ms,
      rowsIn: fastest.rowsIn,
      rowsOut: fastest.rowsOut,
      rowsInPerSecond: fastest.rowsIn / (fastest.ms / 1000),
    };
  });
}

export const LARGE_DATE_COUNT = LARGE_DATES.length;

export function formatRoundTrips(result: RoundTripResult): string {
  const [small, large] = result.rowsPerDay;
  return formatTable(
    `3. Round trips — SQL statements per (date, stage), CountingSqlClient around PGlite; equal: ${result.equal ? 'yes' : 'no'}`,
    [
      { header: 'stage', align: 'left' },
      { header: `${int(small)} rows/day` },
      { header: `${int(large)} rows/day` },
      { header: 'equal' },
    ],
    result.stages.map((s) => [s.stage, String(s.small), String(s.large), s.small === s.large ? 'yes' : 'no']),
  );
}

export function formatThroughput(result: ThroughputResult): string {
  const pg = result.postgres;
  const title =
    `4. Stage throughput — ${int(result.rowsPerDay)} rows/day, ${result.statistic}; rows in = rows the stage reads` +
    (pg === null ? '\n   real PostgreSQL: not available' : ` (PostgreSQL ${result.postgresVersion})`);
  const columns = [
    { header: 'stage', align: 'left' as const },
    { header: 'rows in' },
    { header: 'rows out' },
    { header: 'PGlite ms' },
    { header: 'PGlite rows/s' },
    ...(pg === null ? [] : [{ header: 'PostgreSQL ms' }, { header: 'PostgreSQL rows/s' }]),
  ];
  return formatTable(
    title,
    columns,
    result.pglite.map((row, i) => [
      row.stage,
      int(row.rowsIn),
      int(row.rowsOut),
      ms(row.ms),
      int(row.rowsInPerSecond),
      ...(pg === null ? [] : [ms(pg[i].ms), int(pg[i].rowsInPerSecond)]),
    ]),
  );
}
