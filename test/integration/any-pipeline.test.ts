/**
 * The framework runs a pipeline that is not the example: a project whose cdk.json names the visits
 * fixture (three stages, other names, tables and window than the orders example and the meters
 * fixture), driven by `hindsight` as a child process, as a team drives its own. Daily runs, status
 * and plan name only its stages; a rehearsed change to its last stage (`--stages`) is planned and
 * backfilled exactly where it reads; a cdk.json that names no pipeline is refused.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusReport } from '../../cli/status-view';
import { PgliteSqlClient } from '../../lambdas/adapters/pglite-sql';
import { dateRange } from '../../lambdas/engine/dates';
import type { BackfillPlan } from '../../lambdas/engine/plan';
import { readHistory } from '../../lambdas/ledger/ledger-store';
import { type CliResult, hindsight } from '../support/cli';
import { VISITS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';

const STAGES = ['page_views', 'daily_visitors', 'visitor_window'];
const DATES = dateRange('2026-02-01', '2026-02-05');
const WINDOW_V2 = join(__dirname, '..', 'fixtures', 'pipelines', 'visits-window-v2.ts');
/** The visits source yields the same twelve visitors every day. */
const VISITORS_PER_DAY = 12;

let root: string;
let project: string;
let dataDir: string;
const timings: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-any-pipeline-'));
  project = fixtureProject(VISITS);
  dataDir = join(root, 'data');
});

afterAll(() => {
  console.log(`any-pipeline: hindsight wall times:\n${timings.join('\n')}`);
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

/** `hindsight --data-dir <dataDir> <args>` in `cwd` (the visits project unless told). */
async function cli(args: readonly string[], cwd: string = project): Promise<CliResult> {
  const result = await hindsight(['--data-dir', dataDir, ...args], { cwd });
  timings.push(
    `  ${(result.ms / 1000).toFixed(1).padStart(6)} s  exit ${result.code}  hindsight ${args.join(' ')}`,
  );
  return result;
}

function succeeded(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

/** Every stage name a status report mentions: its columns, versions, cells and last runs. */
function stagesNamed(report: StatusReport): string[] {
  return [
    ...new Set([
      ...report.stages,
      ...Object.keys(report.versions ?? {}),
      ...report.dates.flatMap((row) => row.cells.map((cell) => cell.stage)),
      ...report.lastRuns.map((run) => run.stage),
    ]),
  ].sort();
}

/** The rows of visitor_window, and the run history, of the (closed) data directory. */
async function readBack(): Promise<{ window: string[]; runs: number }> {
  const sql = await PgliteSqlClient.open(join(dataDir, 'postgres'));
  try {
    const { rows } = await sql.query<{ day: string; days: number; visitors: number }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, days_in_window AS days, visitors_3d AS visitors
       FROM visitor_window ORDER BY day`,
    );
    return {
      window: rows.map((row) => `${row.day} ${row.days} ${row.visitors}`),
      runs: (await readHistory(sql)).length,
    };
  } finally {
    await sql.close();
  }
}

describe('hindsight on a project whose cdk.json names the visits pipeline', () => {
  it('runs dates through its three stages, and status names only them, every cell fresh', async () => {
    const run = succeeded(await cli(['run', '--from', DATES[0], '--to', DATES.at(-1)!]));
    for (const date of DATES) {
      expect(run).toMatch(
        new RegExp(`^${date} {2}page_views ${VISITORS_PER_DAY} · daily_visitors 1 · visitor_window 1 `, 'm'),
      );
    }
    expect(run).toContain(`Ran ${DATES.length} dates through 3 stages`);

    const status = JSON.parse(succeeded(await cli(['status', '--json']))) as StatusReport;
    expect(status).toMatchObject({ stages: STAGES, from: DATES[0], to: DATES.at(-1) });
    expect(status.versions).toEqual({ page_views: 1, daily_visitors: 1, visitor_window: 1 });
    expect(stagesNamed(status)).toEqual([...STAGES].sort());
    expect(status.dates.map((row) => row.date)).toEqual(DATES);
    expect(status.counts).toEqual({ fresh: DATES.length * STAGES.length, stale: 0, missing: 0 });
    expect(status.lease?.holder ?? null).toBeNull();

    // v1 adds up the days' visitors over the window (1, 2, then 3 days).
    expect((await readBack()).window).toEqual(
      DATES.map((date, i) => `${date} ${Math.min(i + 1, 3)} ${VISITORS_PER_DAY * Math.min(i + 1, 3)}`),
    );
  });

  it('plans nothing while the code is the code that ran', async () => {
    const plan = succeeded(await cli(['plan']));
    expect(plan).toContain(`Nothing to do: every date in ${DATES[0]} .. ${DATES.at(-1)} is fresh.`);
  });

  it('plans a changed visitor_window as a rerun of exactly that stage on every date, and backfills it', async () => {
    const plan = JSON.parse(succeeded(await cli(['--stages', WINDOW_V2, 'plan', '--json']))) as BackfillPlan;
    expect(plan.dates.map((date) => date.date)).toEqual(DATES);
    for (const date of plan.dates) {
      expect(date).toMatchObject({ startStage: 'visitor_window', stages: ['visitor_window'] });
      expect(date.reasons).toEqual([
        {
          kind: 'code-stale',
          stage: 'visitor_window',
          changes: [{ stage: 'visitor_window', recorded: 1, code: 2 }],
        },
      ]);
    }
    expect(plan.totals).toEqual({
      dates: DATES.length,
      stageRuns: DATES.length,
      fullRerunStageRuns: DATES.length * STAGES.length,
    });

    const backfill = succeeded(await cli(['--stages', WINDOW_V2, 'backfill', '--auto', '--yes']));
    expect(backfill).toContain(`Backfill done: ${DATES.length} dates, ${DATES.length} stage-runs.`);

    const status = JSON.parse(
      succeeded(await cli(['--stages', WINDOW_V2, 'status', '--json'])),
    ) as StatusReport;
    expect(status.versions).toEqual({ page_views: 1, daily_visitors: 1, visitor_window: 2 });
    expect(stagesNamed(status)).toEqual([...STAGES].sort());
    expect(status.counts).toEqual({ fresh: DATES.length * STAGES.length, stale: 0, missing: 0 });
    expect(status.lease?.holder ?? null).toBeNull();

    // v2 counts each visitor once over the window; only visitor_window ran again.
    const after = await readBack();
    expect(after.window).toEqual(DATES.map((date, i) => `${date} ${Math.min(i + 1, 3)} ${VISITORS_PER_DAY}`));
    expect(after.runs).toBe(DATES.length * STAGES.length + DATES.length);
  });
});

describe('hindsight on a project whose cdk.json names no pipeline', () => {
  it('refuses with exit 2, naming hindsight:pipeline, and opens nothing', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'hindsight-project-'));
    try {
      const context = { 'hindsight:migrations': VISITS.migrationsDirectory };
      writeFileSync(join(bare, 'cdk.json'), `${JSON.stringify({ context }, null, 2)}\n`);
      const untouched = join(root, 'never-opened');

      const result = await hindsight(['--data-dir', untouched, 'status'], { cwd: bare });

      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
      expect(result.stderr).toContain(
        'Invalid hindsight:pipeline: got nothing; expected the path of a module that exports `pipeline`, relative to cdk.json.',
      );
      expect(result.stderr).toContain('Nothing was changed.');
      expect(existsSync(untouched)).toBe(false);
      expect(readdirSync(bare)).toEqual(['cdk.json']);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
