/**
 * `hindsight` end to end, as a user runs it: a child process per command, on a temporary data
 * directory, output piped (no terminal). Catch-up runs, status, a rehearsed code change
 * (`--stages`) planned and backfilled, bad input refused with exit 2 and nothing touched, and a
 * second process on the same data directory refused while the first runs. Every command runs in a
 * fixture project whose cdk.json names the meters pipeline (collect → validate → summarize → trend
 * → report), whatever this repository's own cdk.json names.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusReport } from '../../cli/status-view';
import { PgliteSqlClient } from '../../lambdas/adapters/pglite-sql';
import { addDays, dateOf, dateRange } from '../../lambdas/engine/dates';
import type { BackfillPlan } from '../../lambdas/engine/plan';
import { type HistoryRow, readHistory } from '../../lambdas/ledger/ledger-store';
import { type CliResult, hindsight, snapshotTree, startHindsight } from '../support/cli';
import { fixtureProject } from '../support/fixture-project';

const ROWS = ['--param', 'rowsPerDay=100'];
/** The rehearsed change: validate v2, which also drops readings under 0.1 kWh. */
const FIXTURE = join(__dirname, '..', 'fixtures', 'pipelines', 'meters-validate-v2.ts');
const STAGES = ['collect', 'validate', 'summarize', 'trend', 'report'];
const DATE_FORM = 'expected a real calendar date written as YYYY-MM-DD';

let root: string;
/** The project every command runs in. */
let project: string;
/** Scenario directories; `main` is also the populated directory the bad-input checks must leave alone. */
let main: string;
const timings: string[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-cli-'));
  main = join(root, 'main');
  project = fixtureProject();
});

afterAll(() => {
  console.log(`hindsight CLI wall times:\n${timings.join('\n')}`);
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

/** Runs `hindsight` on `dataDir`, in the project, and records its wall time. */
async function cli(dataDir: string, args: readonly string[]): Promise<CliResult> {
  const result = await hindsight(['--data-dir', dataDir, ...args], { cwd: project });
  timings.push(
    `  ${(result.ms / 1000).toFixed(1).padStart(6)} s  exit ${result.code}  hindsight ${args.join(' ')}`,
  );
  return result;
}

function succeeded(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

/** A new data directory for a scenario, with the workflow definitions `main` synthesized (a cache keyed by the code). */
function scenarioDir(name: string): string {
  const dataDir = join(root, name);
  const cached = join(main, 'workflows.json');
  if (existsSync(cached)) {
    mkdirSync(dataDir);
    copyFileSync(cached, join(dataDir, 'workflows.json'));
  }
  return dataDir;
}

/** The dates a `run` printed a result line for, in order. */
function datesRun(stdout: string): string[] {
  return [...stdout.matchAll(/^(\d{4}-\d{2}-\d{2}) {2}collect \d+ · validate/gm)].map((match) => match[1]);
}

/** The whole run history of a closed data directory. */
async function history(dataDir: string): Promise<HistoryRow[]> {
  const sql = await PgliteSqlClient.open(join(dataDir, 'postgres'));
  try {
    return await readHistory(sql);
  } finally {
    await sql.close();
  }
}

function cellStates(report: StatusReport): string[] {
  return [...new Set(report.dates.flatMap((row) => row.cells.map((cell) => cell.state)))];
}

describe('hindsight, from a fresh data directory to a rehearsed code change', () => {
  let statusAfterBackfill: string;

  it('runs a range of dates through every stage and shows every cell fresh', async () => {
    const run = succeeded(await cli(main, [...ROWS, 'run', '--from', '2026-01-01', '--to', '2026-01-20']));
    expect(datesRun(run)).toEqual(dateRange('2026-01-01', '2026-01-20'));
    expect(run).toContain('Ran 20 dates through 5 stages');

    const status = JSON.parse(succeeded(await cli(main, ['status', '--json']))) as StatusReport;
    expect(status).toMatchObject({ stages: STAGES, from: '2026-01-01', to: '2026-01-20' });
    expect(status.dates.map((row) => row.date)).toEqual(dateRange('2026-01-01', '2026-01-20'));
    expect(status.counts).toEqual({ fresh: 100, stale: 0, missing: 0 });
    expect(cellStates(status)).toEqual(['fresh']);
    expect(status.lease?.holder ?? null).toBeNull();
  });

  it('plans a changed validate as a rerun from validate on every date, 80 stage-runs instead of 100', async () => {
    const plan = JSON.parse(
      succeeded(await cli(main, ['--stages', FIXTURE, ...ROWS, 'plan', '--json'])),
    ) as BackfillPlan;
    expect(plan.dates.map((date) => date.date)).toEqual(dateRange('2026-01-01', '2026-01-20'));
    for (const date of plan.dates) {
      expect(date).toMatchObject({ startStage: 'validate', stages: STAGES.slice(1) });
      expect(date.reasons).toContainEqual({
        kind: 'code-stale',
        stage: 'validate',
        changes: [{ stage: 'validate', recorded: 1, code: 2 }],
      });
    }
    expect(plan.totals).toEqual({ dates: 20, stageRuns: 80, fullRerunStageRuns: 100 });
  });

  it('shows the backfill plan on --dry-run and changes nothing', async () => {
    const dryRun = succeeded(
      await cli(main, ['--stages', FIXTURE, ...ROWS, 'backfill', '--auto', '--dry-run']),
    );
    expect(dryRun).toContain('Backfill plan (auto) for 2026-01-01 .. 2026-01-20: 20 dates to rerun');
    expect(dryRun).toContain('Totals: 20 dates, 80 stage-runs; a full rerun is 100 stage-runs');
    expect(dryRun).not.toContain('Backfill done');
    expect(await history(main)).toHaveLength(100);
  });

  it('backfills the change with --auto --yes, after which every cell is fresh under the new code', async () => {
    // The same 20 dates are still to do: the dry run before did nothing.
    const backfill = succeeded(
      await cli(main, ['--stages', FIXTURE, ...ROWS, 'backfill', '--auto', '--yes']),
    );
    expect(backfill).toContain('[1/20] 2026-01-01');
    expect(backfill).toContain('[20/20] 2026-01-20');
    expect(backfill).toContain('Backfill done: 20 dates, 80 stage-runs.');

    statusAfterBackfill = succeeded(await cli(main, ['--stages', FIXTURE, 'status', '--json']));
    const status = JSON.parse(statusAfterBackfill) as StatusReport;
    expect(status.counts).toEqual({ fresh: 100, stale: 0, missing: 0 });
    expect(status.lease?.holder ?? null).toBeNull();
    expect(status.lastRuns.at(-1)).toMatchObject({ date: '2026-01-20', stage: 'report' });
    expect(status.lastRuns.find((run) => run.stage === 'validate')).toMatchObject({ version: 2 });
  });

  it('finds nothing to do on a second backfill --auto and changes nothing', async () => {
    const again = succeeded(await cli(main, ['--stages', FIXTURE, ...ROWS, 'backfill', '--auto', '--yes']));
    expect(again).toContain('Nothing to do: every date in 2026-01-01 .. 2026-01-20 is fresh.');
    expect(again).not.toContain('Backfill done');
    expect(succeeded(await cli(main, ['--stages', FIXTURE, 'status', '--json']))).toBe(statusAfterBackfill);
    // 100 daily stage-runs, 80 backfilled; the dry run and the second backfill added none.
    const runs = await history(main);
    expect(runs).toHaveLength(180);
    expect(runs.filter((run) => run.stage === 'validate' && run.version === 2)).toHaveLength(20);
  });
});

describe('hindsight run with no date', () => {
  it('catches up exactly the missing dates since --since, then has nothing to run', async () => {
    const dataDir = scenarioDir('catch-up');
    const today = dateOf(new Date());
    const first = succeeded(await cli(dataDir, [...ROWS, 'run', '--since', addDays(today, -3)]));
    expect(datesRun(first)).toEqual(dateRange(addDays(today, -3), addDays(today, -1)));

    const second = succeeded(await cli(dataDir, [...ROWS, 'run', '--since', addDays(today, -5)]));
    expect(datesRun(second)).toEqual([addDays(today, -5), addDays(today, -4)]);
    expect(second).toContain('Ran 2 dates through 5 stages');

    const third = succeeded(await cli(dataDir, [...ROWS, 'run', '--since', addDays(today, -5)]));
    expect(third).toContain('Nothing to run: every date is done.');
    expect(datesRun(third)).toEqual([]);
  });
});

describe('hindsight run before the history start', () => {
  it('refuses --date, --from or --since before the history start minus the reach, naming the flag, until --extend-history', async () => {
    const dataDir = scenarioDir('history-bound');
    const today = dateOf(new Date());
    const day = (offset: number) => addDays(today, offset);
    expect(datesRun(succeeded(await cli(dataDir, [...ROWS, 'run', '--date', day(-3)])))).toEqual([day(-3)]);
    // The meters' trend reads 6 days back: history may grow back to 6 days before its start.
    const bound = `a date from ${day(-9)} on: history starts on ${day(-3)}, and a daily run reads at most 6 days`;

    for (const [flag, args] of [
      ['--date', ['--date', day(-20)]],
      ['--from', ['--from', day(-20), '--to', day(-18)]],
      ['--since', ['--since', day(-20)]],
    ] as const) {
      const refused = await cli(dataDir, [...ROWS, 'run', ...args]);
      expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: '' });
      expect(refused.stderr).toContain(`Invalid ${flag}: got "${day(-20)}"; expected ${bound}`);
      expect(refused.stderr).toContain('To run an earlier date on purpose, add --extend-history');
      expect(refused.stderr).toContain('Nothing was changed.');
    }
    expect((await history(dataDir)).map((run) => run.date)).not.toContain(day(-20));

    const extended = succeeded(await cli(dataDir, [...ROWS, 'run', '--date', day(-20), '--extend-history']));
    expect(datesRun(extended)).toEqual([day(-20)]);
    // History now starts 20 days back, and the bound with it.
    expect(datesRun(succeeded(await cli(dataDir, [...ROWS, 'run', '--date', day(-26)])))).toEqual([day(-26)]);
  });
});

describe('hindsight on a data directory another process is using', () => {
  it('refuses a second command with a message naming the directory, while the first runs to the end', async () => {
    const dataDir = scenarioDir('two-processes');
    const dates = dateRange('2026-03-01', '2026-04-29');
    const first = startHindsight(
      ['--data-dir', dataDir, ...ROWS, 'run', '--from', dates[0], '--to', dates.at(-1)!],
      { cwd: project },
    );
    let firstEnded = 0;
    const firstResult = first.result.then((result) => {
      firstEnded = result.endedAt;
      return result;
    });
    // The first holds the directory (it has opened it and is starting its runs) before the second starts.
    const lockFile = join(dataDir, 'in-use.lock');
    while (!existsSync(lockFile) && firstEnded === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await cli(dataDir, [...ROWS, 'run', '--date', '2026-05-01']);
    console.log(
      `the second process ended after the first had printed ${datesRun(first.stdout()).length} of 60 dates`,
    );
    expect(firstEnded).toBe(0);
    expect(second.code).not.toBe(0);
    // The pid named is the first's node process (tsx runs the CLI in a child process of its own).
    expect(second.stderr).toContain(`The data directory ${dataDir} is in use by process `);
    expect(second.stderr).toMatch(
      /in use by process \d+\. Wait for it to finish, or use another --data-dir\./,
    );
    expect(second.stdout).toBe('');

    const done = await firstResult;
    timings.push(
      `  ${(done.ms / 1000).toFixed(1).padStart(6)} s  exit ${done.code}  hindsight run (60 dates, in the background)`,
    );
    expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: '' });
    expect(datesRun(done.stdout)).toEqual(dates);
    expect(existsSync(join(dataDir, 'in-use.lock'))).toBe(false);
    const runs = await history(dataDir);
    expect(runs).toHaveLength(60 * 5);
    expect(runs.some((run) => run.date === '2026-05-01')).toBe(false);
  });
});

describe('hindsight given bad input', () => {
  it('refuses every bad input with exit 2, a message naming the value and the accepted form, touching nothing', async () => {
    const today = dateOf(new Date());
    const yesterday = addDays(today, -1);
    const missingParent = join(root, 'no', 'such', 'data');
    const neverCreated = join(root, 'never-created');
    // A populated directory (PGlite, dynalite, definitions): any open of it would change files.
    const dataDir = existsSync(join(main, 'postgres')) ? main : scenarioDir('bad-input');
    if (!existsSync(join(dataDir, 'postgres')))
      succeeded(await cli(dataDir, [...ROWS, 'run', '--date', '2026-01-05']));

    const cases: ReadonlyArray<{ dir?: string; args: string[]; message: string }> = [
      {
        args: ['run', '--from', '2026-02-30', '--to', '2026-03-02'],
        message: `Invalid --from: got "2026-02-30"; ${DATE_FORM}`,
      },
      {
        dir: neverCreated,
        args: ['run', '--date', '26-1-1'],
        message: `Invalid --date: got "26-1-1"; ${DATE_FORM}`,
      },
      {
        args: ['status', '--from', '2026-01-10', '--to', '2026-01-01'],
        message: 'Invalid --to: got "2026-01-01"; expected a date on or after --from (2026-01-10)',
      },
      {
        args: [
          'backfill',
          '--from',
          '2026-01-01',
          '--to',
          '2026-01-05',
          '--start-stage',
          'valdiate',
          '--yes',
        ],
        message: `Invalid --start-stage: got "valdiate"; expected one of ${STAGES.join(', ')}`,
      },
      {
        args: ['run', '--dates', '2026-01-01'],
        message: "error: unknown option '--dates'\n(Did you mean --date?)",
      },
      {
        args: ['run', '--from', '2016-01-01', '--to', '2026-01-10'],
        message: 'Invalid --to: got "2026-01-10"; expected a range of at most 3660 days',
      },
      {
        dir: missingParent,
        args: ['run', '--date', '2026-01-05'],
        message: `Invalid --data-dir: got ${JSON.stringify(missingParent)}; expected a directory whose parent exists`,
      },
      {
        args: ['run', '--date', today],
        message: `Invalid --date: got "${today}"; expected a date up to yesterday (${yesterday})`,
      },
      {
        args: ['backfill', '--auto', '--start-stage', 'validate', '--yes'],
        message: 'Invalid --start-stage: got "validate"; expected no --start-stage with --auto',
      },
      {
        args: ['backfill', '--from', '2026-01-01', '--start-stage', 'validate', '--yes'],
        message: `Invalid --to: got nothing; ${DATE_FORM}, e.g. 2026-01-31 (explicit mode needs --from, --to and --start-stage or --stage)`,
      },
      {
        args: ['run', '--from', '2026-01-01'],
        message: 'Invalid --to: got nothing; expected --from and --to together',
      },
    ];

    const before = snapshotTree(dataDir);
    const results: Array<{ args: string; code: number | null; stdout: string; stderr: string }> = [];
    const queue = [...cases];
    // Four at a time: none of them may open anything, so they cannot get in each other's way.
    await Promise.all(
      [1, 2, 3, 4].map(async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const result = await cli(next.dir ?? dataDir, [...ROWS, ...next.args]);
          results.push({
            args: next.args.join(' '),
            code: result.code,
            stdout: result.stdout,
            stderr: result.stderr,
          });
        }
      }),
    );
    for (const { args, message } of cases) {
      const result = results.find((r) => r.args === args.join(' '));
      expect(result).toMatchObject({
        args: args.join(' '),
        code: 2,
        stdout: '',
        stderr: expect.stringContaining(message),
      });
    }
    expect(snapshotTree(dataDir)).toEqual(before);
    expect(existsSync(neverCreated)).toBe(false);
    expect(existsSync(join(root, 'no'))).toBe(false);
    // Nor did any write into the project.
    expect(readdirSync(project)).toEqual(['cdk.json']);
  });
});
