/**
 * Section 10 — the CLI as a user runs it: whole `hindsight` processes (`node bin/hindsight.js`,
 * the compiled CLI), median of several, wall time and peak memory (maxRSS, reported by the process
 * itself through a `--require`d probe):
 *
 * - `--help`;
 * - `status` on a one-year data directory (365 dates × every stage, written as the runner records
 *   them with one INSERT, as in section 1): the first look after the database changed (it opens
 *   PGlite and publishes a snapshot), then the usual look (from the snapshot, recomputed with the
 *   current code);
 * - `plan` on that directory after the stage list changed (`--stages`: a module with one more
 *   stage), which once synthesized the workflow definitions again;
 * - the first command on a new data directory: `start` (catch up 30 days, then the grid) with
 *   Hindsight's cache warm (the empty-database template and the definitions, made by an earlier
 *   data directory), run under a pseudo-terminal when `script` is there, to measure the longest
 *   silence too (progress lines are for terminals only).
 *
 * Each figure is shown against its target (issue 16) as a ratio; the targets are for an idle
 * 2-core machine, so the load average is printed with it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDays, dateOf } from '../lambdas/engine/dates';
import { hindsightCacheDirectory } from '../local/cache-directory';
import { openLocalServices } from '../local/local-services';
import { median, progress } from './measure';
import { insertLedger } from './planner';
import { pipeline, source } from './project';
import { formatTable, ratio } from './table';

const REPOSITORY = join(__dirname, '..');
const BIN = join(REPOSITORY, 'bin', 'hindsight.js');

/** One `hindsight` process: wall time, peak memory, the longest time without output, and its output. */
export interface ProcessSample {
  readonly ms: number;
  readonly maxRssMiB: number;
  readonly longestSilenceMs: number;
  readonly code: number | null;
}

export interface CliFigure {
  readonly what: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly maxRssMiB: number;
  readonly longestSilenceMs?: number;
  readonly targetMs?: number;
  readonly targetRssMiB?: number;
  readonly samples: readonly ProcessSample[];
}

export interface CliResult {
  readonly ledgerRows: number;
  readonly figures: readonly CliFigure[];
}

export async function benchCli(): Promise<CliResult> {
  const root = mkdtempSync(join(tmpdir(), 'hindsight-bench-cli-'));
  try {
    progress('CLI: building dist/ (bin/hindsight.js --version)');
    await hindsight(['--version'], root);
    const figures: CliFigure[] = [];

    progress('CLI: --help ×7');
    figures.push(await repeat('--help', 7, () => hindsight(['--help'], root), { targetMs: 300 }));

    const yearDir = join(root, 'one-year');
    const ledgerRows = await oneYearDirectory(yearDir);
    progress('CLI: status, first look after the database changed');
    figures.push(
      await repeat('status, 1 year, database changed (opens PGlite)', 1, () =>
        hindsight(['--data-dir', yearDir, 'status'], root),
      ),
    );
    progress('CLI: status ×5');
    figures.push(
      await repeat('status, 1 year', 5, () => hindsight(['--data-dir', yearDir, 'status'], root), {
        targetMs: 1_500,
        targetRssMiB: 300,
      }),
    );

    const changed = extraStageModule(root);
    progress('CLI: plan after the stage list changed ×3');
    figures.push(
      await repeat(
        'plan, 1 year, stage list changed',
        3,
        () => hindsight(['--data-dir', yearDir, '--stages', changed, 'plan'], root),
        { targetMs: 5_000 },
      ),
    );

    progress('CLI: first command on a new data directory (start)');
    const terminal = hasScript();
    figures.push(
      await repeat(
        `start on a new data directory (cache warm${terminal ? ', on a terminal' : ''})`,
        1,
        () => hindsight(['--data-dir', join(root, 'new'), 'start'], root, terminal),
        { targetMs: 15_000 },
      ),
    );
    return { ledgerRows, figures };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatCli(result: CliResult): string {
  const rows = result.figures.map((figure) => [
    figure.what,
    String(figure.runs),
    (figure.medianMs / 1000).toFixed(2),
    figure.targetMs === undefined ? '' : (figure.targetMs / 1000).toFixed(1),
    figure.targetMs === undefined ? '' : ratio(figure.medianMs / figure.targetMs),
    String(figure.maxRssMiB),
    figure.targetRssMiB === undefined ? '' : String(figure.targetRssMiB),
    figure.longestSilenceMs === undefined ? '' : (figure.longestSilenceMs / 1000).toFixed(1),
  ]);
  return formatTable(
    `10. CLI — whole processes (node bin/hindsight.js, compiled), median; one-year directory: ${result.ledgerRows.toLocaleString('en-US')} ledger rows`,
    [
      { header: 'command', align: 'left' },
      { header: 'runs' },
      { header: 'median s' },
      { header: 'target s' },
      { header: 'vs target' },
      { header: 'peak MiB' },
      { header: 'target MiB' },
      { header: 'longest silence s' },
    ],
    rows,
  );
}

async function repeat(
  what: string,
  runs: number,
  run: () => Promise<ProcessSample>,
  targets: { targetMs?: number; targetRssMiB?: number } = {},
): Promise<CliFigure> {
  const samples: ProcessSample[] = [];
  for (let i = 0; i < runs; i++) {
    const sample = await run();
    if (sample.code !== 0) throw new Error(`bench CLI: ${what} exited with ${sample.code}`);
    samples.push(sample);
  }
  const silences = samples.map((sample) => sample.longestSilenceMs);
  return {
    what,
    runs,
    medianMs: median(samples.map((sample) => sample.ms)),
    maxRssMiB: Math.max(...samples.map((sample) => sample.maxRssMiB)),
    ...(what.includes('terminal') ? { longestSilenceMs: Math.max(...silences) } : {}),
    ...targets,
    samples,
  };
}

/** A data directory with a year of daily runs up to yesterday, every cell fresh. */
async function oneYearDirectory(dataDir: string): Promise<number> {
  progress('CLI: writing a one-year data directory');
  const cache = hindsightCacheDirectory(REPOSITORY);
  const services = await openLocalServices({
    dataDir,
    pipeline,
    migrationsDirectory: source.migrationsDirectory,
    ...(cache === undefined ? {} : { cacheDirectory: cache }),
  });
  try {
    const yesterday = addDays(dateOf(new Date()), -1);
    return await insertLedger(services.deps.sql, pipeline, addDays(yesterday, -364), yesterday);
  } finally {
    await services.close();
  }
}

/** A `--stages` module: the project's pipeline with one more stage at the end. */
function extraStageModule(root: string): string {
  const engine = require.resolve('hindsight', { paths: [REPOSITORY] });
  const file = join(root, 'extra-stage.ts');
  writeFileSync(
    file,
    `import { definePipeline, defineStage } from ${JSON.stringify(engine)};
import { pipeline as base } from ${JSON.stringify(source.entry)};

export const pipeline = definePipeline([
  ...base.stages,
  defineStage({ name: 'bench_extra', version: 1, lookbackDays: 0, owns: [], description: 'bench', run: async () => 0 }),
]);
`,
  );
  return file;
}

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs `hindsight <args>` in the repository (its cdk.json names the pipeline); `terminal`: under `script`. */
function hindsight(args: readonly string[], scratch: string, terminal = false): Promise<ProcessSample> {
  const probe = join(scratch, 'rss-probe.cjs');
  const rssFile = join(scratch, `rss-${process.hrtime.bigint()}`);
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`,
  );
  const env = { ...process.env, NODE_OPTIONS: `--require ${probe}`, NO_COLOR: '1' };
  const command = [process.execPath, BIN, ...args];
  const child = terminal
    ? spawn('script', ['-qfec', command.map(shellWord).join(' '), '/dev/null'], { cwd: REPOSITORY, env })
    : spawn(command[0], command.slice(1), { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const began = performance.now();
  let lastOutput = began;
  let longestSilence = 0;
  let output = '';
  const heard = (chunk: Buffer) => {
    const now = performance.now();
    longestSilence = Math.max(longestSilence, now - lastOutput);
    lastOutput = now;
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', heard);
  child.stderr?.on('data', heard);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - began;
      let maxRss = 0;
      try {
        maxRss = Number(require('node:fs').readFileSync(rssFile, 'utf8'));
      } catch {
        // the process did not get to exit normally
      }
      if (code !== 0) process.stderr.write(output);
      resolve({
        ms,
        maxRssMiB: Math.round(maxRss / 1024),
        longestSilenceMs: Math.max(longestSilence, ms - (lastOutput - began)),
        code,
      });
    });
  });
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
