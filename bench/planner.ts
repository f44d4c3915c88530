/**
 * Section 1 — the planner at scale: years of ledger rows in PGlite, read and planned as the
 * "Validate And Plan" step does (readLedger → toEntry → planBackfill), against the floor of one
 * bare `SELECT * FROM hindsight_stage_state` on the same database.
 */
import type { IsoDate } from '../lambdas/engine/dates';
import { definePipeline, type Pipeline } from '../lambdas/engine/pipeline';
import { planBackfill } from '../lambdas/engine/plan';
import { type SqlClient, sqlJson } from '../lambdas/engine/sql';
import { defineStage } from '../lambdas/engine/stage';
import { readLedger, toEntry } from '../lambdas/ledger/ledger-store';
import { best, median, progress, timed } from './measure';
import { formatTable, int, ms, ratio } from './table';

/** The last date of the simulated history and "today" for the plans (fixed, so runs compare). */
export const HISTORY_END: IsoDate = '2025-12-31';
export const PLAN_TODAY: IsoDate = '2026-01-01';
const YEARS = [10, 5, 2, 1] as const;
const REPETITIONS = 5;
const GROWTH_REPETITIONS = 3;
/** planBackfill alone is pure CPU: the best of several runs on one read leaves out GC pauses. */
const PLAN_ONLY_REPETITIONS = 7;
/** The stage bumped to make the plan non-trivial: a middle stage, so three of five stages rerun. */
const BUMPED = 'aggregate';

export interface PlannerResult {
  readonly ledgerRows: number;
  readonly dates: number;
  readonly repetitions: number;
  readonly statistic: 'median';
  readonly floorMs: number;
  readonly readLedgerMs: number;
  readonly planBumpedMs: number;
  readonly planUnchangedMs: number;
  readonly bumpedStage: string;
  readonly bumpedPlan: { readonly dates: number; readonly stageRuns: number };
  readonly unchangedPlan: { readonly dates: number; readonly stageRuns: number };
  readonly readAndPlanBumpedMs: number;
  readonly readAndPlanUnchangedMs: number;
  readonly ratioBumped: number;
  readonly ratioUnchanged: number;
  readonly growth: readonly {
    readonly years: number;
    readonly ledgerRows: number;
    readonly floorMs: number;
    readonly readMs: number;
    readonly planMs: number;
    readonly readAndPlanMs: number;
    readonly ratioToFloor: number;
  }[];
  /** readAndPlan at 10 years over readAndPlan at 1 year; 10 is linear. */
  readonly growth10yOver1y: number;
  /** The same for the floor alone and for planBackfill alone. */
  readonly floorGrowth10yOver1y: number;
  readonly planGrowth10yOver1y: number;
}

/** `pipeline` with `stage` one version ahead: the code change a deploy brings. */
export function bumped(pipeline: Pipeline, stage: string): Pipeline {
  return definePipeline(
    pipeline.stages.map((s) => (s.name === stage ? defineStage({ ...s, version: s.version + 1 }) : s)),
  );
}

/**
 * Writes a ledger as the runner would have after a daily run of every date in [from, to]: each
 * (date, stage) with the code's version, the lineage of the stages before it, the run ids of its
 * input over its window (clipped to the history start) and its own run id. One set-based INSERT.
 */
export async function insertLedger(
  sql: SqlClient,
  pipeline: Pipeline,
  from: IsoDate,
  to: IsoDate,
): Promise<number> {
  const stages = pipeline.stages.map((stage, i) => ({
    name: stage.name,
    version: stage.version,
    lineage: pipeline.codeLineage(stage.name),
    input: i === 0 ? null : pipeline.names[i - 1],
    lookback: stage.lookbackDays,
    position: i,
  }));
  const { rowCount } = await sql.query(
    `INSERT INTO hindsight_stage_state
       (day, stage, version, lineage, input_run_ids, run_id, execution_id, fence_token, started_at, finished_at, rows_written)
     SELECT d.day, s.name, s.version, s.lineage,
            CASE WHEN s.input IS NULL THEN '{}'::jsonb ELSE (
              SELECT jsonb_object_agg(to_char(w.day, 'YYYY-MM-DD'), md5(s.input || ':' || to_char(w.day, 'YYYY-MM-DD'))::uuid::text)
              FROM generate_series(greatest(d.day - s.lookback, $1::date), d.day, interval '1 day') AS w(day)
            ) END,
            md5(s.name || ':' || to_char(d.day, 'YYYY-MM-DD'))::uuid,
            'arn:aws:states:us-east-1:123456789012:execution:HindsightDaily:daily-' || to_char(d.day, 'YYYY-MM-DD'),
            (d.day - $1::date) + 1,
            d.day + interval '1 day 2 hours' + s.position * interval '1 minute',
            d.day + interval '1 day 2 hours 1 minute' + s.position * interval '1 minute',
            1000
     FROM generate_series($1::date, $2::date, interval '1 day') AS g(ts)
     CROSS JOIN LATERAL (SELECT g.ts::date AS day) AS d
     CROSS JOIN jsonb_to_recordset($3::jsonb)
       AS s(name text, version int, lineage jsonb, input text, lookback int, position int)`,
    [from, to, sqlJson(stages)],
  );
  return rowCount;
}

async function readAndPlan(sql: SqlClient, pipeline: Pipeline) {
  const read = await timed(async () => (await readLedger(sql)).map(toEntry));
  const plan = await timed(() =>
    planBackfill({ pipeline, ledger: read.result, mode: 'auto', today: PLAN_TODAY, maxDays: 3700 }),
  );
  return { readMs: read.ms, planMs: plan.ms, plan: plan.result, ledger: read.result };
}

async function floor(sql: SqlClient): Promise<number> {
  return (await timed(() => sql.query('SELECT * FROM hindsight_stage_state'))).ms;
}

export async function benchPlanner(sql: SqlClient, pipeline: Pipeline): Promise<PlannerResult> {
  const changed = bumped(pipeline, BUMPED);
  const from = yearsBack(10);
  progress(`planner: writing a ledger for ${from} .. ${HISTORY_END}`);
  const ledgerRows = await insertLedger(sql, pipeline, from, HISTORY_END);
  await sql.query('VACUUM ANALYZE hindsight_stage_state');

  // Warm-up: the first read pays for parsing and caches; not counted.
  await floor(sql);
  await readAndPlan(sql, pipeline);

  const floors: number[] = [];
  const reads: number[] = [];
  const plansBumped: number[] = [];
  const plansUnchanged: number[] = [];
  const totalsBumped: number[] = [];
  const totalsUnchanged: number[] = [];
  let bumpedPlan = { dates: 0, stageRuns: 0 };
  let unchangedPlan = { dates: 0, stageRuns: 0 };
  for (let r = 0; r < REPETITIONS; r++) {
    progress(`planner: 10 years, repetition ${r + 1}/${REPETITIONS}`);
    floors.push(await floor(sql));
    const a = await readAndPlan(sql, changed);
    const b = await readAndPlan(sql, pipeline);
    reads.push(a.readMs, b.readMs);
    plansBumped.push(a.planMs);
    plansUnchanged.push(b.planMs);
    totalsBumped.push(a.readMs + a.planMs);
    totalsUnchanged.push(b.readMs + b.planMs);
    bumpedPlan = { dates: a.plan.totals.dates, stageRuns: a.plan.totals.stageRuns };
    unchangedPlan = { dates: b.plan.totals.dates, stageRuns: b.plan.totals.stageRuns };
  }

  // Growth: drop the oldest years (as a purge would) and plan what is left.
  const growth: PlannerResult['growth'][number][] = [];
  for (const years of YEARS) {
    const cutoff = yearsBack(years);
    if (years !== 10) {
      await sql.query('DELETE FROM hindsight_stage_state WHERE day < $1::date', [cutoff]);
      await sql.query('VACUUM ANALYZE hindsight_stage_state');
    }
    const { rows } = await sql.query<{ n: number }>('SELECT count(*) AS n FROM hindsight_stage_state');
    const f: number[] = [];
    const t: number[] = [];
    const reads: number[] = [];
    const plans: number[] = [];
    for (let r = 0; r < GROWTH_REPETITIONS; r++) {
      progress(`planner: growth, ${years} year(s), repetition ${r + 1}/${GROWTH_REPETITIONS}`);
      f.push(await floor(sql));
      const run = await readAndPlan(sql, changed);
      t.push(run.readMs + run.planMs);
      reads.push(run.readMs);
      if (r === GROWTH_REPETITIONS - 1) {
        for (let p = 0; p < PLAN_ONLY_REPETITIONS; p++) {
          const again = await timed(() =>
            planBackfill({
              pipeline: changed,
              ledger: run.ledger,
              mode: 'auto',
              today: PLAN_TODAY,
              maxDays: 3700,
            }),
          );
          plans.push(again.ms);
        }
      }
    }
    growth.push({
      years,
      ledgerRows: rows[0].n,
      floorMs: median(f),
      readMs: median(reads),
      planMs: best(plans),
      readAndPlanMs: median(t),
      ratioToFloor: median(t) / median(f),
    });
  }
  growth.reverse();

  const floorMs = median(floors);
  const readAndPlanBumpedMs = median(totalsBumped);
  const readAndPlanUnchangedMs = median(totalsUnchanged);
  const oneYear = growth.find((g) => g.years === 1)!;
  const tenYears = growth.find((g) => g.years === 10)!;
  return {
    ledgerRows,
    dates: ledgerRows / pipeline.stages.length,
    repetitions: REPETITIONS,
    statistic: 'median',
    floorMs,
    readLedgerMs: median(reads),
    planBumpedMs: median(plansBumped),
    planUnchangedMs: median(plansUnchanged),
    bumpedStage: BUMPED,
    bumpedPlan,
    unchangedPlan,
    readAndPlanBumpedMs,
    readAndPlanUnchangedMs,
    ratioBumped: readAndPlanBumpedMs / floorMs,
    ratioUnchanged: readAndPlanUnchangedMs / floorMs,
    growth,
    growth10yOver1y: tenYears.readAndPlanMs / oneYear.readAndPlanMs,
    floorGrowth10yOver1y: tenYears.floorMs / oneYear.floorMs,
    planGrowth10yOver1y: tenYears.planMs / oneYear.planMs,
  };
}

/** The first date of the last `years` years of the history (calendar years ending on HISTORY_END). */
function yearsBack(years: number): IsoDate {
  const end = Number(HISTORY_END.slice(0, 4));
  return `${end - years + 1}-01-01`;
}

export function formatPlanner(result: PlannerResult): string {
  const main = formatTable(
    `1. Planner — ${int(result.ledgerRows)} ledger rows (${int(result.dates)} dates × 5 stages), PGlite, median of ${result.repetitions}`,
    [
      { header: 'measure', align: 'left' },
      { header: 'ms' },
      { header: 'vs floor' },
      { header: 'plan', align: 'left' },
    ],
    [
      ['floor: SELECT * FROM hindsight_stage_state', ms(result.floorMs), ratio(1), ''],
      ['readLedger (+ toEntry)', ms(result.readLedgerMs), ratio(result.readLedgerMs / result.floorMs), ''],
      [
        `planBackfill auto, ${result.bumpedStage} bumped`,
        ms(result.planBumpedMs),
        '',
        planText(result.bumpedPlan),
      ],
      ['planBackfill auto, nothing changed', ms(result.planUnchangedMs), '', planText(result.unchangedPlan)],
      [
        `read + plan, ${result.bumpedStage} bumped`,
        ms(result.readAndPlanBumpedMs),
        ratio(result.ratioBumped),
        '',
      ],
      ['read + plan, nothing changed', ms(result.readAndPlanUnchangedMs), ratio(result.ratioUnchanged), ''],
    ],
  );
  const growth = formatTable(
    `   Growth (${result.bumpedStage} bumped; median of ${GROWTH_REPETITIONS}, plan ms alone best of ${PLAN_ONLY_REPETITIONS}), 10y/1y (10.00x = linear): ` +
      `read+plan ${ratio(result.growth10yOver1y)}, floor ${ratio(result.floorGrowth10yOver1y)}, ` +
      `planBackfill alone ${ratio(result.planGrowth10yOver1y)}`,
    [
      { header: 'years' },
      { header: 'ledger rows' },
      { header: 'floor ms' },
      { header: 'read ms' },
      { header: 'plan ms' },
      { header: 'read+plan ms' },
      { header: 'vs floor' },
    ],
    result.growth.map((g) => [
      String(g.years),
      int(g.ledgerRows),
      ms(g.floorMs),
      ms(g.readMs),
      ms(g.planMs),
      ms(g.readAndPlanMs),
      ratio(g.ratioToFloor),
    ]),
  );
  return `${main}\n\n${growth}`;
}

function planText(plan: { dates: number; stageRuns: number }): string {
  return `${int(plan.dates)} dates, ${int(plan.stageRuns)} stage-runs`;
}
