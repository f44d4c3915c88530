/**
 * The README, walked through: every hindsight command it gives, run in the order of its story, in
 * throwaway copies of the example project (test/readme/readme-projects.ts), on pinned days. The
 * README's transcripts (`<!-- transcript: NAME -->` regions) are written from these runs by
 * `npm run -s readme`, and test/readme/readme.test.ts fails when they differ.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { DEFAULT_DATA_DIR, POSTGRES_DIRECTORY } from '../../local/data-directory';
import { awsWalk } from './aws-walkthrough';
import { exampleProject, shopProject, temporaryParent } from './readme-projects';
import { keep, Transcripts, Walk } from './walk';

/** The day the example walk-through happens: its 30 days are 2026-10-25 .. 2026-11-23. */
export const WALKTHROUGH_TODAY = '2026-11-24';

/** Runs every scenario of the README; returns the commands run and the regions' text. */
export async function walkThroughReadme(log?: (line: string) => void): Promise<Transcripts> {
  const transcripts = new Transcripts(log);
  const parent = temporaryParent();
  try {
    await exampleWalk(exampleProject(parent), transcripts);
    await shopWalk(shopProject(parent), transcripts);
    await awsWalk(exampleProject(join(parent, 'aws')), transcripts);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
  return transcripts;
}

/** "Everyday workflows" on the orders example, from `npm start` to a transition and its backfill. */
async function exampleWalk(project: string, transcripts: Transcripts): Promise<void> {
  const walk = new Walk(project, WALKTHROUGH_TODAY, transcripts);

  // Run the pipeline.
  await walk.run('npm start');
  await walk.run('npx hindsight run --date 2026-11-23');
  await walk.run('npx hindsight run --from 2026-11-20 --to 2026-11-23');
  await walk.run('npx hindsight run');

  // Change a stage, see the plan, backfill.
  // The version guard: a code change without a version bump fails the check; the bump is recorded.
  await walk.step('change what transform computes', () => editStage(project, 'transform', USD_RATE));
  await walk.run('npx hindsight lock --check', { exit: 1, show: 'lock-check' });
  await walk.step('bump transform to version 2', () => editStage(project, 'transform', VERSION(1, 2)));
  await walk.run('npx hindsight lock');
  await walk.run('npx hindsight status', { show: 'change-a-stage', excerpt: statusGrid });
  await walk.run('npx hindsight plan', { show: 'change-a-stage' });
  await walk.run('npx hindsight backfill --auto --yes', { show: 'change-a-stage', excerpt: backfillRun });
  await walk.run('npx hindsight backfill --auto --yes', { show: 'change-a-stage' });

  // Verify: every command of the list, then a row changed by hand.
  await walk.run('npx hindsight verify');
  await walk.run('npx hindsight verify --from 2026-11-01 --to 2026-11-23 --stage aggregate,rolling');
  await walk.run('npx hindsight verify --sample 10');
  await walk.run('npx hindsight verify --sample 10 --seed 3f9a1c2e');
  const report = await walk.run('npx hindsight verify --json');
  JSON.parse(report.output); // data only: nothing else on stdout or stderr
  await walk.step('change daily_sales by hand for one product on 2026-11-20', () =>
    changeOneRow(project, '2026-11-20'),
  );
  await walk.run('npx hindsight verify --from 2026-11-19 --to 2026-11-21', {
    exit: 1,
    show: 'verify-differs',
    excerpt: firstDifferenceRows,
  });

  // One-off fixes: a transition for transform's next version, then the version bump itself; the
  // next day's run is refused until the backfill has rerun the dates it reads.
  await walk.run('npx hindsight transition new clear_scores --stage transform', { show: 'transition-new' });
  await walk.step('fill in apply() of the transition', () => fillInTransition(project));
  await walk.step('change transform again, bump it to version 3', () =>
    editStage(project, 'transform', GBP_RATE, VERSION(2, 3)),
  );
  await walk.run('npx hindsight lock');
  walk.on('2026-11-25');
  await walk.run('npx hindsight run', { exit: 1, show: 'earlier-dates-refused' });
  await walk.run('npx hindsight backfill --auto --yes');
}

/** "Stages as a graph": the shop example's November, then two rehearsed changes planned. */
async function shopWalk(project: string, transcripts: Transcripts): Promise<void> {
  const walk = new Walk(project, '2026-12-01', transcripts);
  await walk.run('npm start');
  await walk.run('npx hindsight --stages test/fixtures/pipelines/shop-revenue-v2.ts plan', {
    show: 'shop-plans',
  });
  await walk.run('npx hindsight --stages test/fixtures/pipelines/shop-sessions-v2.ts plan', {
    show: 'shop-plans',
  });
}

/** The status grid: its first two dates, its last, the totals and the lease (not the last runs). */
function statusGrid(lines: readonly string[]): string[] {
  const legend = lines.findIndex((line) => line.startsWith('F fresh'));
  const lease = lines.findIndex((line) => line.startsWith('Lease'));
  if (legend < 0 || lease < legend) return [...lines];
  return [...keep(lines.slice(0, legend), 3, 1), ...lines.slice(legend, lease + 1)];
}

/** A backfill: its plan and confirmation, then only the last date's line and the result. */
function backfillRun(lines: readonly string[]): string[] {
  return keep(lines, 0, 2);
}

/** Verify's report with the rows of its first difference; the others' rows are cut. */
function firstDifferenceRows(lines: readonly string[]): string[] {
  const shown: string[] = [];
  let differences = 0;
  for (const line of lines) {
    if (/^ {4}\S+ on \d{4}-\d{2}-\d{2}, table /.test(line)) differences++;
    const isRow = line.startsWith('      ');
    if (isRow && differences > 1) {
      if (shown.at(-1) !== '      …') shown.push('      …');
      continue;
    }
    shown.push(line);
  }
  return shown;
}

/** An edit of a stage's source: this text becomes that one. */
type Edit = readonly [string, string];
/** Changes in what `transform` computes: new exchange rates. */
const USD_RATE: Edit = ["('USD', 0.92)", "('USD', 0.93)"];
const GBP_RATE: Edit = ["('GBP', 1.17)", "('GBP', 1.18)"];
const VERSION = (from: number, to: number): Edit => [`version: ${from},`, `version: ${to},`];

/** Edits a stage's file as a team would; fails when the text to change is not there. */
function editStage(project: string, stage: string, ...edits: Edit[]): void {
  const file = join(project, 'pipeline', 'stages', `${stage}.ts`);
  let source = readFileSync(file, 'utf8');
  for (const [before, after] of edits) {
    if (!source.includes(before)) throw new Error(`${file} has no \`${before}\` to edit`);
    source = source.replace(before, after);
  }
  writeFileSync(file, source);
}

/** Changes one product's revenue on `day` in daily_sales, straight in the data directory's database. */
async function changeOneRow(project: string, day: string): Promise<void> {
  const db = await PGlite.create(join(project, DEFAULT_DATA_DIR, POSTGRES_DIRECTORY));
  try {
    await db.query(
      `UPDATE daily_sales SET revenue_eur = revenue_eur + 10
       WHERE day = $1::date AND product = (SELECT min(product) FROM daily_sales WHERE day = $1::date)`,
      [day],
    );
  } finally {
    await db.close();
  }
}

/** What the README says a transition does: clear a column the new version no longer writes. */
function fillInTransition(project: string): void {
  const file = join(project, 'pipeline', 'transitions', '0001_clear_scores.ts');
  const source = readFileSync(file, 'utf8');
  const stub = /apply: async \(\{ date \}\) => \{\n.*\n {2}\},/;
  if (!stub.test(source)) throw new Error(`${file} has no apply() stub to fill in`);
  writeFileSync(
    file,
    source.replace(
      stub,
      `apply: async ({ sql, date }) => {
    await sql.query('UPDATE raw_orders SET rejected_reason = NULL WHERE day = $1::date', [date]);
  },`,
    ),
  );
}
