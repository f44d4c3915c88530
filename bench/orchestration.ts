/**
 * Section 2 — what the workflows cost on top of the work: a 90-day backfill from the second stage
 * through the synthesized backfill state machine (aws-local-stepfunctions, dynalite lease, every
 * Task bound to its handler code) against calling runStage directly for the same (date, stage)
 * pairs. Both start from copies of one data directory (same PGlite files, same ingested rows).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgliteSqlClient } from '../lambdas/adapters/pglite-sql';
import { dateRange, type IsoDate } from '../lambdas/engine/dates';
import type { LeaseService } from '../lambdas/engine/lease';
import type { Pipeline } from '../lambdas/engine/pipeline';
import type { SqlClient } from '../lambdas/engine/sql';
import type { PipelineParams } from '../lambdas/engine/stage';
import { runStage } from '../lambdas/workflow/stage-runner';
import type { WorkflowDefinitions } from '../lib/workflow-definitions';
import { type LocalServices, openLocalServices } from '../local/local-services';
import { LocalWorkflows } from '../local/local-workflows';
import { best, median, progress, timed } from './measure';
import { sizeParams, source } from './project';
import { formatTable, int, ms, ratio } from './table';
import { TimingSqlClient } from './timing-sql';

const FROM: IsoDate = '2025-01-01';
const TO: IsoDate = '2025-03-31';
const ROWS_PER_DAY = 1_000;
const RUNS = 3;

export interface OrchestrationResult {
  readonly from: IsoDate;
  readonly to: IsoDate;
  readonly dates: number;
  readonly startStage: string;
  readonly stageRuns: number;
  readonly rowsPerDay: number;
  readonly runsEach: number;
  readonly statistic: 'best';
  readonly directMs: readonly number[];
  readonly workflowMs: readonly number[];
  readonly directBestMs: number;
  readonly workflowBestMs: number;
  readonly directMedianMs: number;
  readonly workflowMedianMs: number;
  /** workflow best / direct best: the target is ≤ 1.25. */
  readonly ratio: number;
  readonly overheadPerDateMs: number;
  /** Of the best run: SQL statements sent, time waiting for them, and the rest of the wall time. */
  readonly directBreakdown: Breakdown;
  readonly workflowBreakdown: Breakdown;
}

export interface Breakdown {
  readonly statements: number;
  readonly sqlMs: number;
  /** Lease calls (acquire, renew, release on dynalite) and the time they took. */
  readonly leaseCalls: number;
  readonly leaseMs: number;
  /** Wall time minus SQL and lease time: the state machine interpreter, validation, JSON between states. */
  readonly otherMs: number;
}

interface Sample {
  readonly ms: number;
  readonly sqlMs: number;
  readonly statements: number;
  readonly leaseMs: number;
  readonly leaseCalls: number;
  readonly footprint: string;
}

/** The same lease service, its async methods timed. */
function timedLeases(leases: LeaseService, clock: { ms: number; calls: number }): LeaseService {
  return new Proxy(leases, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const start = performance.now();
        clock.calls++;
        try {
          return await value.apply(target, args);
        } finally {
          clock.ms += performance.now() - start;
        }
      };
    },
  });
}

/** Stage-runs recorded by the run and the report rows written: both paths must agree. */
async function footprint(sql: SqlClient, pipeline: Pipeline): Promise<string> {
  const report = pipeline.stages[pipeline.stages.length - 1].owns[0];
  const { rows } = await sql.query<{ runs: number; report: number }>(
    `SELECT (SELECT count(*) FROM hindsight_run_history) AS runs, (SELECT count(*) FROM ${report}) AS report`,
  );
  return `${rows[0].runs} runs, ${rows[0].report} report rows`;
}

export async function benchOrchestration(
  pipeline: Pipeline,
  definitions: WorkflowDefinitions,
): Promise<OrchestrationResult> {
  const startStage = pipeline.names[1];
  const stages = pipeline.names.slice(1);
  const dates = dateRange(FROM, TO);
  const params: PipelineParams = sizeParams(ROWS_PER_DAY);
  const root = mkdtempSync(join(tmpdir(), 'hindsight-bench-'));
  try {
    // The template: a local installation whose first stage has run for every date.
    const template = join(root, 'template');
    progress(
      `orchestration: preparing a data directory with ${pipeline.names[0]} run for ${dates.length} dates`,
    );
    const services = await openLocalServices({
      dataDir: template,
      pipeline,
      params,
      migrationsDirectory: source.migrationsDirectory,
    });
    try {
      for (const date of dates) {
        await runStage(
          services.deps.sql,
          pipeline,
          { stage: pipeline.names[0], date, fenceToken: 0 },
          params,
        );
      }
    } finally {
      await services.close();
    }

    let copies = 0;
    const copy = () => {
      const dir = join(root, `run-${++copies}`);
      cpSync(template, dir, { recursive: true });
      return dir;
    };

    const direct = async (): Promise<Sample> => {
      const dir = copy();
      const sql = new TimingSqlClient(await PgliteSqlClient.open(join(dir, 'postgres')));
      try {
        const run = await timed(async () => {
          for (const date of dates) {
            for (const stage of stages) await runStage(sql, pipeline, { stage, date, fenceToken: 1 }, params);
          }
        });
        return {
          ms: run.ms,
          sqlMs: sql.ms,
          statements: sql.statements,
          leaseMs: 0,
          leaseCalls: 0,
          footprint: await footprint(sql, pipeline),
        };
      } finally {
        await sql.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    const workflow = async (): Promise<Sample> => {
      const dir = copy();
      const local = await openLocalServices({
        dataDir: dir,
        pipeline,
        params,
        migrationsDirectory: source.migrationsDirectory,
      });
      try {
        // The same services with the SQL port and the lease service timed.
        const sql = new TimingSqlClient(local.deps.sql);
        const lease = { ms: 0, calls: 0 };
        const timedLocal: LocalServices = {
          ...local,
          deps: { ...local.deps, sql, leases: timedLeases(local.deps.leases, lease) },
        };
        const workflows = await LocalWorkflows.create(timedLocal, definitions, { pauseMs: 20 });
        const run = await timed(() => workflows.start('backfill', { from: FROM, to: TO, startStage }).done);
        if (run.result.status !== 'SUCCEEDED') {
          throw new Error(`The benchmark backfill did not succeed: ${JSON.stringify(run.result)}`);
        }
        return {
          ms: run.ms,
          sqlMs: sql.ms,
          statements: sql.statements,
          leaseMs: lease.ms,
          leaseCalls: lease.calls,
          footprint: await footprint(local.deps.sql, pipeline),
        };
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    const directRuns: Sample[] = [];
    const workflowRuns: Sample[] = [];
    for (let r = 0; r < RUNS; r++) {
      progress(`orchestration: runStage directly, run ${r + 1}/${RUNS}`);
      directRuns.push(await direct());
      progress(`orchestration: backfill workflow, run ${r + 1}/${RUNS}`);
      workflowRuns.push(await workflow());
    }
    const footprints = new Set([...directRuns, ...workflowRuns].map((run) => run.footprint));
    if (footprints.size !== 1) {
      throw new Error(`The two paths did not do the same work: ${[...footprints].join(' vs ')}`);
    }

    const directMs = directRuns.map((run) => run.ms);
    const workflowMs = workflowRuns.map((run) => run.ms);
    const directBestMs = best(directMs);
    const workflowBestMs = best(workflowMs);
    const breakdown = (runs: readonly Sample[]) => {
      const fastest = runs.find((run) => run.ms === best(runs.map((r) => r.ms)))!;
      return {
        statements: fastest.statements,
        sqlMs: fastest.sqlMs,
        leaseCalls: fastest.leaseCalls,
        leaseMs: fastest.leaseMs,
        otherMs: fastest.ms - fastest.sqlMs - fastest.leaseMs,
      };
    };
    return {
      from: FROM,
      to: TO,
      dates: dates.length,
      startStage,
      stageRuns: dates.length * stages.length,
      rowsPerDay: ROWS_PER_DAY,
      runsEach: RUNS,
      statistic: 'best',
      directMs,
      workflowMs,
      directBestMs,
      workflowBestMs,
      directMedianMs: median(directMs),
      workflowMedianMs: median(workflowMs),
      ratio: workflowBestMs / directBestMs,
      overheadPerDateMs: (workflowBestMs - directBestMs) / dates.length,
      directBreakdown: breakdown(directRuns),
      workflowBreakdown: breakdown(workflowRuns),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatOrchestration(result: OrchestrationResult): string {
  const row = (path: string, runs: readonly number[], bestMs: number, b: Breakdown) => [
    path,
    runs.map(ms).join(', '),
    ms(bestMs),
    ratio(bestMs / result.directBestMs),
    ms(bestMs / result.dates),
    int(b.statements),
    ms(b.sqlMs),
    int(b.leaseCalls),
    ms(b.leaseMs),
    ms(b.otherMs),
  ];
  const table = formatTable(
    `2. Orchestration overhead — ${result.dates}-day backfill from ${result.startStage} (${int(result.stageRuns)} stage-runs), ` +
      `PGlite, ${int(result.rowsPerDay)} rows/day, best of ${result.runsEach} each (target ≤ 1.25x)`,
    [
      { header: 'path', align: 'left' },
      { header: 'runs ms', align: 'left' },
      { header: 'best ms' },
      { header: 'vs floor' },
      { header: 'per date ms' },
      { header: 'SQL stmts' },
      { header: 'SQL ms' },
      { header: 'lease calls' },
      { header: 'lease ms' },
      { header: 'other ms' },
    ],
    [
      row('floor: runStage directly', result.directMs, result.directBestMs, result.directBreakdown),
      row('LocalWorkflows backfill', result.workflowMs, result.workflowBestMs, result.workflowBreakdown),
    ],
  );
  return `${table}\n   overhead per date: ${ms(result.overheadPerDateMs)} ms (breakdown of the best run; other = wall − SQL − lease)`;
}
