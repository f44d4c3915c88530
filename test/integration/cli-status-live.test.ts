/**
 * `status` as a second shell sees it, and what the light commands load: whole `hindsight`
 * processes on a temporary data directory, in a fixture project (the meters pipeline).
 *
 * - While a `run` holds the data directory, `status` answers at once with the running command, its
 *   progress and the grid as of its last committed date; `status --watch` prints again on each
 *   change (piped) and stops on Ctrl-C with exit 0.
 * - After `kill -9` of the holder, `status` says the lease is held by a run whose process has ended,
 *   and that the next run or backfill takes it over.
 * - The snapshot `status` reads when the directory is free is recomputed with the current code: a
 *   code change is shown exactly as from the database.
 * - `--help` loads none of the heavy modules, and `plan` with a new stage list neither synthesizes
 *   the workflows (no aws-cdk-lib) nor starts the lease table (no dynalite).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusReport } from '../../cli/status-view';
import { dateRange } from '../../lambdas/engine/dates';
import { type CliResult, hindsight, REPOSITORY, startHindsight } from '../support/cli';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';

const ROWS = ['--param', 'rowsPerDay=100'];
/** validate v2: a code change (a version bump) of the meters pipeline. */
const VALIDATE_V2 = join(__dirname, '..', 'fixtures', 'pipelines', 'meters-validate-v2.ts');
const HEAVY = [
  'aws-cdk-lib',
  '@aws-sdk',
  '@electric-sql/pglite',
  'dynalite',
  'aws-local-stepfunctions',
  'typescript',
];

let root: string;
let project: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-status-live-'));
  project = fixtureProject();
});

afterAll(() => {
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

function succeeded(result: CliResult): string {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return result.stdout;
}

async function statusJson(dataDir: string, extra: readonly string[] = []): Promise<StatusReport> {
  return JSON.parse(
    succeeded(await hindsight(['--data-dir', dataDir, ...extra, 'status', '--json'], { cwd: project })),
  ) as StatusReport;
}

/** Polls `status --json` until `ready` holds (the holder is a separate process, running on its own). */
async function statusWhen(dataDir: string, ready: (report: StatusReport) => boolean): Promise<StatusReport> {
  for (let attempt = 0; attempt < 120; attempt++) {
    const report = await statusJson(dataDir);
    if (ready(report)) return report;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('status never showed what was awaited');
}

/** The packages a `hindsight` process loaded (top-level names), seen by a `--require`d probe. */
async function packagesLoaded(args: readonly string[]): Promise<{ code: number | null; packages: string[] }> {
  const probe = join(root, 'probe.cjs');
  const out = join(root, `loaded-${Date.now()}.json`);
  writeFileSync(
    probe,
    `const Module = require('node:module');
const seen = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
  const match = /^(@[^/]+\\/[^/]+|[^./][^/]*)/.exec(request);
  if (match && !request.startsWith('node:')) seen.add(match[1]);
  return load.call(this, request, ...rest);
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([...seen])));
`,
  );
  const child = spawn(
    process.execPath,
    ['--require', probe, join(REPOSITORY, 'bin', 'hindsight.js'), ...args],
    {
      cwd: project,
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const { readFileSync } = await import('node:fs');
  return { code, packages: JSON.parse(readFileSync(out, 'utf8')) as string[] };
}

/** A `--stages` module: the meters pipeline with `stage` (the source of a defineStage call) at the end. */
function writeStagesModule(name: string, stage: string): string {
  const file = join(root, name);
  // The compiled engine: the one the meters stages get from \`hindsight\` in the compiled CLI.
  const engine = join(REPOSITORY, 'dist', 'lambdas', 'engine', 'index.js');
  writeFileSync(
    file,
    `import { definePipeline, defineStage } from ${JSON.stringify(engine)};
import { pipeline as meters } from ${JSON.stringify(METERS.entry)};
export const pipeline = definePipeline([...meters.stages, ${stage}]);
`,
  );
  return file;
}

function heavyIn(packages: readonly string[]): string[] {
  return packages.filter((name) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`)));
}

describe('status from a second shell while a run holds the data directory', () => {
  it('shows the running command, its progress and the grid as of its last committed date; --watch follows it', async () => {
    const dataDir = join(root, 'live');
    const dates = dateRange('2026-01-01', '2026-01-20');
    const run = startHindsight(
      ['--data-dir', dataDir, ...ROWS, 'run', '--from', dates[0], '--to', dates[19]],
      {
        cwd: project,
      },
    );
    try {
      await run.waitForStdout(/^2026-01-02 /m);
      const watch = startHindsight(['--data-dir', dataDir, 'status', '--watch', '--interval', '0.3'], {
        cwd: project,
      });
      const report = await statusWhen(dataDir, (seen) => (seen.running?.done ?? 0) >= 3);
      expect(report.running).toMatchObject({
        command: expect.stringContaining(`run --from ${dates[0]} --to ${dates[19]}`),
        pid: run.pid,
        planned: 20,
      });
      expect(Date.parse(report.running?.startedAt ?? '')).not.toBeNaN();
      expect(report.running?.date).toMatch(/^2026-01-\d\d$/);
      // The grid as of the last committed date: at least the dates done are fresh in every stage.
      const fresh = report.dates.filter((row) => row.cells.every((cell) => cell.state === 'fresh'));
      expect(fresh.length).toBeGreaterThanOrEqual(report.running?.done ?? 0);

      await watch.waitForStdout(/== .* UTC ==[\s\S]*== .* UTC ==/);
      if (watch.pid !== undefined) process.kill(watch.pid, 'SIGINT');
      const watched = await watch.result;
      expect(watched.code).toBe(0);
      expect(watched.stdout).toMatch(/^Running: hindsight .* run --from 2026-01-01/m);
    } finally {
      const ended = await run.result;
      expect(ended.code).toBe(0);
    }
    // Closed cleanly: nothing runs, every date fresh, from the snapshot or the database alike.
    const after = await statusJson(dataDir);
    expect(after.running).toBeUndefined();
    expect(after.counts).toEqual({ fresh: 100, stale: 0, missing: 0 });
  });

  it('after kill -9 of the holder, says the lease is held by a run whose process has ended', async () => {
    const dataDir = join(root, 'killed');
    // The meters pipeline and a last stage that takes seconds: the run is killed inside it, lease held.
    const slow = writeStagesModule(
      'slow-stage.ts',
      "defineStage({ name: 'pause', version: 1, lookbackDays: 0, owns: [], description: 'slow', run: async () => { await new Promise((resolve) => setTimeout(resolve, 4000)); return 0; } })",
    );
    const args = [
      '--data-dir',
      dataDir,
      '--stages',
      slow,
      ...ROWS,
      'run',
      '--from',
      '2026-01-01',
      '--to',
      '2026-01-03',
    ];
    const run = startHindsight(args, { cwd: project });
    // Once it holds the directory (a status opening it first would make the run wait for nothing).
    await run.waitForStdout(/^2026-01-01 /m);
    const seen = await Promise.race([
      statusWhen(dataDir, (report) => report.running?.stage === 'pause'),
      run.result.then((ended) => {
        throw new Error(`the run ended first (exit ${ended.code}):\n${ended.stdout}${ended.stderr}`);
      }),
    ]);
    // While it runs, the lease it took is shown as held.
    expect(seen.lease?.holder).toEqual(expect.stringContaining('HindsightDaily'));
    if (run.pid !== undefined) process.kill(run.pid, 'SIGKILL');
    await run.result;

    const text = succeeded(
      await hindsight(['--data-dir', dataDir, '--stages', slow, 'status'], { cwd: project }),
    );
    expect(text).toMatch(/Lease: held by /);
    expect(text).toContain(
      'Its process has ended (killed or crashed): the next run or backfill takes the lease over.',
    );
    expect(text).not.toContain('Running:');
    // Again, from the snapshot that look published: the same.
    expect(await statusJson(dataDir, ['--stages', slow])).toMatchObject({ leaseHolderEnded: true });

    // The next run takes the lease over and finishes the range.
    expect(succeeded(await hindsight(args, { cwd: project }))).toContain('Ran 3 dates');
    expect((await statusJson(dataDir, ['--stages', slow])).lease?.holder ?? null).toBeNull();
  });
});

describe('status when the data directory is free', () => {
  it('recomputes the snapshot with the current code: a code change shows as from the database', async () => {
    const dataDir = join(root, 'snapshot');
    succeeded(
      await hindsight(['--data-dir', dataDir, ...ROWS, 'run', '--from', '2026-02-01', '--to', '2026-02-05'], {
        cwd: project,
      }),
    );
    const fromSnapshot = await statusJson(dataDir, ['--stages', VALIDATE_V2]);
    expect(fromSnapshot.counts).toEqual({ fresh: 5, stale: 20, missing: 0 });
    // The same with the snapshot gone: status opens the database.
    rmSync(join(dataDir, 'status-snapshot.json'));
    const fromDatabase = await statusJson(dataDir, ['--stages', VALIDATE_V2]);
    expect(fromSnapshot).toEqual(fromDatabase);
  });
});

describe('what the commands load', () => {
  it('--help loads commander and light modules only', async () => {
    const { code, packages } = await packagesLoaded(['--help']);
    expect(code).toBe(0);
    expect(heavyIn(packages)).toEqual([]);
    expect(packages).not.toContain('zod');
  });

  it('plan with a changed stage list neither synthesizes the workflows nor starts the lease table', async () => {
    const dataDir = join(root, 'plan');
    succeeded(
      await hindsight(['--data-dir', dataDir, ...ROWS, 'run', '--from', '2026-03-01', '--to', '2026-03-02'], {
        cwd: project,
      }),
    );
    const extraStage = writeStagesModule(
      'extra-stage.ts',
      "defineStage({ name: 'archive', version: 1, lookbackDays: 0, owns: [], description: 'new', run: async () => 0 })",
    );
    const { code, packages } = await packagesLoaded(['--data-dir', dataDir, '--stages', extraStage, 'plan']);
    expect(code).toBe(0);
    expect(heavyIn(packages)).toEqual(['@electric-sql/pglite']);
  });
});
