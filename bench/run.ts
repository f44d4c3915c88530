/**
 * Hindsight benchmark. Run from the repository root:
 *
 *     npm run bench
 *     npm run -s bench -- bundles   # only the named sections (see SECTIONS_ALONE), others kept in results.json
 *
 * (`tsx bench/run.ts` on the Node 24 the `node` dev dependency provides). Not part of `npm test`.
 * Prints one fixed-width table per section on stdout (progress goes to stderr) and writes every
 * figure, raw samples included, to `bench/results.json`. Every figure is measured in this one run,
 * side by side with its floor where one exists, and given as a ratio to it. Takes a few minutes
 * on a 2-core machine; the load average at start and end is recorded, since a busy machine skews
 * absolute times (ratios much less).
 *
 * 1. Planner — a 10-year ledger (3,653 dates × 5 stages) written into PGlite with one set-based
 *    INSERT, each row as the runner records it (lineage, input run ids over the stage's window —
 *    7 for rolling — and run ids). Times, median of 5: `readLedger` + `toEntry` (as "Validate And
 *    Plan" does) and `planBackfill` in auto mode, once with one stage bumped in a copy of the
 *    pipeline (a non-trivial plan) and once with nothing changed. The floor is one bare
 *    `SELECT * FROM hindsight_stage_state` on the same database; "vs floor" = time / floor.
 *    Growth: read + plan (bumped) with the last 10, 5, 2 and 1 years kept (older rows deleted, as
 *    a purge would): floor, read and read + plan are medians of 3; "plan ms" is planBackfill alone,
 *    best of 7 on one read (pure CPU; the best run leaves out GC pauses). 10y/1y = 10 is linear,
 *    less is better than linear, given for read + plan, for the floor and for planBackfill alone.
 * 2. Orchestration overhead — a 90-day backfill `{from, to, startStage: "transform"}` through
 *    `LocalWorkflows` (the synthesized backfill state machine on aws-local-stepfunctions, lease in
 *    dynalite, every Task bound to its handler code), timed from start to the execution's end,
 *    against the floor: `runStage` called directly for the same (date, stage) pairs in order. Each
 *    run gets a fresh copy of one data directory (PGlite, ingest already run, 1,000 rows/day);
 *    three runs each, alternating; the best of each is compared (target ≤ 1.25x). Both paths must
 *    leave the same number of runs and report rows, or the benchmark fails. For the best run of
 *    each: SQL statements sent and time spent waiting for them (a timing wrapper around the same
 *    SqlClient), lease calls and their time (acquire/renew/release against dynalite, timed by a
 *    proxy around the same LeaseService), and the rest of the wall time ("other": the state machine
 *    interpreter, input validation, JSON between states).
 * 3. Round trips — SQL statements sent per (date, stage), counted by `CountingSqlClient` around
 *    PGlite (transaction control excluded), at 1,000 and 100,000 rows per day. Set-based stages
 *    send the same number whatever the volume: "equal: yes".
 * 4. Stage throughput — each stage's wall time at 100,000 rows per day (best of 2 dates) on PGlite
 *    and on a throwaway real PostgreSQL (test/support/postgres-server.ts; skipped when no binaries
 *    are found). "rows in" = rows the stage reads: generated source rows for the first stage, else
 *    the input stage's rows over the stage's window; rows/s = rows in / wall time. The last
 *    stages read a handful of aggregated rows, so their rows/s measure per-transaction latency.
 * 5. Lambda bundles — each Lambda entry (lib/functions.ts's `handlerEntry` for every name in
 *    HANDLER_NAMES: the files the stack bundles; shared modules there are not entries) bundled by esbuild
 *    with the stack's BUNDLING options and aliases (lib/functions.ts: node24, CJS, minify, keepNames,
 *    ES modules first, a source map file without the sources' text, the AWS SDK bundled but for the
 *    credential providers a function never reaches; the configured pipeline; one engine). Size of
 *    index.js and of its map, in KiB, and the AWS clients it holds; the time `require()` takes in a
 *    fresh `node` process as the Lambda runtime loads it — the functions' NODE_OPTIONS
 *    (`--enable-source-maps`) and environment (dummy values) — median of 5, as wall time and as CPU
 *    time (less skewed on a busy machine), and the wall time without NODE_OPTIONS.
 * 6. Cost model — the synthesized definitions walked along the success path (every Task, Choice,
 *    Pass, Wait, Map and Succeed entered counts one transition; a Distributed Map's item is a child
 *    execution counted apart; no retries): transitions and Lambda invocations of one daily run, of
 *    the backfill's fixed part and of one backfilled date per start stage; cost at the Step
 *    Functions Standard list price ($0.025 per 1,000 transitions), and per 1,000 backfilled dates
 *    (one backfill: fixed part + 1,000 dates).
 * 7. Work saved — a year of daily history on a simulated in-memory ledger, then one change: a
 *    stage bumped (first / middle / last / rolling), late data (ingest rerun on 3 dates), or one
 *    missed daily run. Stage-runs the auto plan schedules vs a full rerun (dates × stages) vs
 *    rerunning every date from the changed stage (for late data: from the stage after ingest).
 * 8. Verify — 30 dates × every stage on copies of one data directory (PGlite, the chain already run
 *    at 1,000 rows/day): `hindsight verify`'s recomputation in rolled-back transactions, the backfill
 *    workflow from the first stage and `runStage` directly over the same cells, best of 2 each, as
 *    stage-dates per second; and, read off the synthesized Verify workflow, what a scheduled
 *    30-date verification costs in AWS (transitions, Lambda invocations). See bench/verify.ts.
 * 9. Stage graph — the shop example (examples/shop): plan time over 10 years, transitions per
 *    backfilled date by planned set, and work saved when one branch changes against a full rerun
 *    and against rerunning it as a chain. See bench/graph.ts.
 * 10. CLI — whole `hindsight` processes of the compiled CLI (bin/hindsight.js), median of several:
 *    `--help`, `status` on a one-year data directory (time and peak memory), `plan` after the stage
 *    list changed, and the first command on a new data directory (`start`, with the longest
 *    silence on a terminal), each against its target. See bench/cli.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { PostgresSqlClient } from '../lambdas/adapters/postgres-sql';
import { loadMigrations, migrate } from '../lambdas/ledger/migrator';
import { synthesizeWorkflowDefinitions } from '../lib/workflow-definitions';
import { findPostgresBin, startPostgres } from '../test/support/postgres-server';
import { benchBundles, formatBundles } from './bundles';
import { benchCli, formatCli } from './cli';
import { benchCost, formatCost } from './cost';
import { emptyDatabase, openMigratedPglite } from './databases';
import { benchGraph, formatGraph } from './graph';
import { progress, timed } from './measure';
import { benchOrchestration, formatOrchestration } from './orchestration';
import { benchPlanner, formatPlanner } from './planner';
import { pipeline, source, transitions } from './project';
import {
  benchLargeChain,
  benchRoundTrips,
  formatRoundTrips,
  formatThroughput,
  LARGE_DATE_COUNT,
  LARGE_ROWS,
  type StageSample,
  type ThroughputResult,
  throughput,
} from './stages';
import { benchVerify, formatVerify } from './verify';
import { benchWorkSaved, formatWorkSaved } from './work-saved';

/**
 * Sections that can run alone, named on the command line: each returns its table and its entries of
 * results.json (merged into the file, so the figures of the sections not run are kept).
 */
const SECTIONS_ALONE: Record<string, () => Promise<{ text: string; results: Record<string, unknown> }>> = {
  cli: async () => {
    const cli = await benchCli();
    return { text: formatCli(cli), results: { cli } };
  },
  bundles: async () => {
    const bundles = await benchBundles();
    return { text: formatBundles(bundles), results: { bundles } };
  },
};

/** Runs only `names` (e.g. `npm run -s bench -- bundles`). */
async function runSections(names: readonly string[]): Promise<void> {
  const unknown = names.filter((name) => !Object.hasOwn(SECTIONS_ALONE, name));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown bench section: ${unknown.join(', ')}; expected one or more of ${Object.keys(SECTIONS_ALONE).join(', ')} ` +
        '(or no argument for every section).',
    );
  }
  const file = join(__dirname, 'results.json');
  const results: Record<string, unknown> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const texts: string[] = [];
  for (const name of names) {
    const section = await SECTIONS_ALONE[name]();
    texts.push(section.text);
    Object.assign(results, section.results);
  }
  const header = `Hindsight benchmark — ${new Date().toISOString()} — sections: ${names.join(', ')}
machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; load average (1/5/15 min) ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ')}`;
  process.stdout.write(`${header}\n\n${texts.join('\n\n')}\n`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  progress(`updated ${names.join(', ')} in ${file}`);
}

async function main(): Promise<void> {
  const named = process.argv.slice(2);
  if (named.length > 0) return runSections(named);
  const started = Date.now();
  const machine = {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
  };

  progress('synthesizing the workflow definitions');
  const synth = await timed(() =>
    synthesizeWorkflowDefinitions({ source, pipeline: { pipeline, transitions } }),
  );
  const definitions = synth.result;

  const cost = benchCost(definitions, pipeline);
  const workSaved = await benchWorkSaved(pipeline);
  const graph = await benchGraph();
  const cli = await benchCli();
  const bundles = await benchBundles();

  progress('opening an in-memory PGlite');
  const pglite = await openMigratedPglite();
  let planner: Awaited<ReturnType<typeof benchPlanner>>;
  let roundTrips: Awaited<ReturnType<typeof benchRoundTrips>>['roundTrips'];
  let pgliteLarge: StageSample[];
  try {
    planner = await benchPlanner(pglite, pipeline);
    await emptyDatabase(pglite);
    const rt = await benchRoundTrips(pglite, pipeline);
    roundTrips = rt.roundTrips;
    pgliteLarge = rt.large;
  } finally {
    await pglite.close();
  }

  let postgresLarge: StageSample[] | null = null;
  let postgresVersion: string | null = null;
  const bin = findPostgresBin();
  if (bin !== undefined) {
    progress(`starting a throwaway PostgreSQL from ${bin}`);
    const server = await startPostgres(bin);
    try {
      const sql = new PostgresSqlClient(server.url);
      try {
        await migrate(sql, loadMigrations(source.migrationsDirectory));
        const { rows } = await sql.query<{ server_version: string }>('SHOW server_version');
        postgresVersion = rows[0].server_version;
        postgresLarge = await benchLargeChain(sql, pipeline);
      } finally {
        await sql.close();
      }
    } finally {
      server.stop();
    }
  }
  const stageThroughput: ThroughputResult = {
    rowsPerDay: LARGE_ROWS,
    statistic: `best of ${LARGE_DATE_COUNT} dates`,
    pglite: throughput(pgliteLarge, pipeline),
    postgres: postgresLarge === null ? null : throughput(postgresLarge, pipeline),
    postgresVersion,
  };

  const orchestration = await benchOrchestration(pipeline, definitions);
  const verify = await benchVerify(pipeline, transitions, definitions);

  const totalSeconds = (Date.now() - started) / 1000;
  const loadAverageAtEnd = loadavg().map((value) => Number(value.toFixed(2)));
  const header = [
    `Hindsight benchmark — ${machine.date}`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`,
    `load average (1/5/15 min): ${machine.loadAverageAtStart.join(' / ')} at start, ${loadAverageAtEnd.join(' / ')} at end`,
  ].join('\n');
  const sections = [
    formatPlanner(planner),
    formatOrchestration(orchestration),
    formatRoundTrips(roundTrips),
    formatThroughput(stageThroughput),
    formatBundles(bundles),
    formatCost(cost),
    formatWorkSaved(workSaved),
    formatVerify(verify),
    formatGraph(graph),
    formatCli(cli),
  ];
  process.stdout.write(
    `${header}\n\n${sections.join('\n\n')}\n\ntotal run time: ${totalSeconds.toFixed(0)} s\n`,
  );

  const results = {
    machine: { ...machine, loadAverageAtEnd },
    totalSeconds,
    synthesizeMs: synth.ms,
    planner,
    orchestration,
    roundTrips,
    throughput: { ...stageThroughput, samples: { pglite: pgliteLarge, postgres: postgresLarge } },
    bundles,
    cost,
    workSaved,
    verify,
    graph,
    cli,
  };
  const file = join(__dirname, 'results.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  progress(`wrote ${file}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
