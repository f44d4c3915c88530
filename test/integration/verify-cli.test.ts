/**
 * `hindsight verify` on a local data directory, in a fixture project whose cdk.json names the
 * meters pipeline (with `rowsPerDay` 20 in hindsight:params, so runs and verification agree):
 * clean data is all same with exit 0 and leaves every table, the ledger and the lease item as they
 * were; changed rows, and a stage changed without a version bump, exit 1 naming table, date and
 * row; bad usage exits 2 touching nothing; a data directory in use is refused, saying so.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/program';
import { PgliteSqlClient } from '../../lambdas/adapters/pglite-sql';
import { dateRange } from '../../lambdas/engine/dates';
import type { SqlExecutor } from '../../lambdas/engine/sql';
import type { VerifyReport } from '../../lambdas/engine/verify';
import { openLocalServices } from '../../local/local-services';
import { pipeline } from '../fixtures/pipelines/meters';
import { hindsight } from '../support/cli';
import { runCliInProcess } from '../support/cli-in-process';
import { METERS } from '../support/fixture-pipelines';
import { fixtureProject } from '../support/fixture-project';
import { type StateChecksum, stateChecksum } from '../support/state-checksum';

const NOW = new Date('2026-03-20T09:00:00Z');
const DATES = dateRange('2026-03-01', '2026-03-14');
const FIRST = DATES[0];
const LAST = DATES[DATES.length - 1];
const PARAMS = { rowsPerDay: '20' };
const UNBUMPED = join(__dirname, '..', 'fixtures', 'pipelines', 'meters-summarize-unbumped.ts');

let root: string;
let dataDir: string;
let project: string;

/** `hindsight --data-dir <dataDir> …` in this process, in the fixture project. */
const cli = (args: readonly string[]) =>
  runCliInProcess(['--data-dir', dataDir, ...args], { now: NOW, cwd: project });

/** The database checksum and the lease item, read with the data directory opened and closed again. */
async function checksum(): Promise<StateChecksum> {
  const services = await openLocalServices({
    dataDir,
    pipeline,
    params: PARAMS,
    migrationsDirectory: METERS.migrationsDirectory,
  });
  try {
    return await stateChecksum(services);
  } finally {
    await services.close();
  }
}

/** Runs `work` on the data directory's database, closed again afterwards (the CLI opens it itself). */
async function withDatabase<T>(work: (sql: SqlExecutor) => Promise<T>): Promise<T> {
  const sql = await PgliteSqlClient.open(join(dataDir, 'postgres'));
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hindsight-verify-cli-'));
  dataDir = join(root, 'data');
  project = fixtureProject(METERS, { 'hindsight:params': PARAMS });
  const run = await cli(['run', '--from', FIRST, '--to', LAST]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: EXIT.ok, stderr: '' });
});

afterAll(() => {
  for (const directory of [root, project]) if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('hindsight verify', () => {
  it('reports every date and stage the same on clean data, exits 0, and changes no table, ledger row or lease', async () => {
    // Prepare
    const before = await checksum();

    // Act
    const text = await cli(['verify']);
    const json = await cli(['verify', '--json']);

    // Assess: the default range is the ledger's last 30 dates (here, its 14)
    expect({ code: text.code, stderr: text.stderr }).toEqual({ code: EXIT.ok, stderr: '' });
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe(
      `Verify ${FIRST} .. ${LAST}, stages collect, validate, summarize, trend, report: each cell recomputed in a transaction that was rolled back.`,
    );
    expect(lines[1]).toBe('date        collect    validate   summarize  trend      report');
    expect(lines.slice(2, 16)).toEqual(
      DATES.map((date) => `${date}  same       same       same       same       same`),
    );
    expect(lines.at(-1)).toBe(
      'Totals: 70 cells in 14 dates: 70 same, 0 differ, 0 failed; not verified: 0 stale, 0 missing, 0 skipped.',
    );
    expect(json.code).toBe(EXIT.ok);
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report).toMatchObject({ from: FIRST, to: LAST, stages: pipeline.names, sample: null });
    expect(report.totals).toMatchObject({ dates: 14, cells: 70, same: 70 });
    expect(await checksum()).toEqual(before);
  });

  it('exits 1 on a changed, a deleted and an extra row, naming each table, date and row', async () => {
    // Prepare: a tampered report row, a deleted rejected reading, an extra report row
    const [tamperedDate, extraDate] = [DATES[2], DATES[8]];
    const { original, tampered, deleted } = await withDatabase(async (sql) => {
      const before = await sql.query(`SELECT * FROM usage_report WHERE day = $1::date AND rank = 1`, [
        tamperedDate,
      ]);
      await sql.query(`UPDATE usage_report SET trend = 'up?' WHERE day = $1::date AND rank = 1`, [
        tamperedDate,
      ]);
      const changed = await sql.query(`SELECT * FROM usage_report WHERE day = $1::date AND rank = 1`, [
        tamperedDate,
      ]);
      const removed = await sql.query(
        `DELETE FROM rejected_readings WHERE (day, meter_id, reading_no) IN
           (SELECT day, meter_id, reading_no FROM rejected_readings ORDER BY day, meter_id, reading_no LIMIT 1)
         RETURNING *`,
      );
      await sql.query(
        `INSERT INTO usage_report (day, meter_id, rank, kwh_day, kwh_7d, trend) VALUES ($1::date, 'M99', 99, 0, 0, 'flat')`,
        [extraDate],
      );
      return { original: before.rows[0], tampered: changed.rows[0], deleted: removed.rows[0] };
    });
    const deletedDate = String(deleted.day);
    const before = await checksum();

    // Act
    const result = await cli(['verify']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    expect(result.stdout).toContain(
      `    report on ${tamperedDate}, table usage_report: 1 row only stored, 1 row only recomputed (20 stored, 20 recomputed)\n` +
        `      only stored      ${JSON.stringify(tampered)}\n      only recomputed  ${JSON.stringify(original)}`,
    );
    expect(result.stdout).toContain(
      `    validate on ${deletedDate}, table rejected_readings: 0 rows only stored, 1 row only recomputed`,
    );
    expect(result.stdout).toContain(`      only recomputed  ${JSON.stringify(deleted)}`);
    expect(result.stdout).toContain(
      `    report on ${extraDate}, table usage_report: 1 row only stored, 0 rows only recomputed (21 stored, 20 recomputed)\n` +
        `      only stored      {"day":"${extraDate}","meter_id":"M99","rank":99,"kwh_day":"0.000","kwh_7d":"0.000","trend":"flat"}`,
    );
    expect(result.stdout).toContain('Totals: 70 cells in 14 dates: 67 same, 3 differ, 0 failed;');
    expect(result.stderr).toMatch(/^Verify found 3 cells differing from what the code computes/);
    // Verify reports; it repairs nothing.
    expect(await checksum()).toEqual(before);

    await withDatabase(async (sql) => {
      await sql.query(`DELETE FROM usage_report WHERE meter_id = 'M99'`);
      await sql.query(`UPDATE usage_report SET trend = $2 WHERE day = $1::date AND rank = 1`, [
        tamperedDate,
        original.trend as string,
      ]);
      await sql.query(
        'INSERT INTO rejected_readings (day, meter_id, reading_no, reason) VALUES ($1::date, $2, $3, $4)',
        [deletedDate, deleted.meter_id as string, deleted.reading_no as number, deleted.reason as string],
      );
    });
    expect((await cli(['verify'])).code).toBe(EXIT.ok);
  });

  it('exits 1 for a stage changed without a version bump, on the dates it computes differently only', async () => {
    // Prepare
    const changed = await withDatabase(async (sql) => {
      const { rows } = await sql.query<{ day: string }>(
        'SELECT DISTINCT day FROM valid_readings WHERE kwh < 0.1 ORDER BY day',
      );
      return rows.map((row) => row.day);
    });

    // Act
    const result = await cli(['--stages', UNBUMPED, 'verify', '--json']);

    // Assess
    expect(result.code).toBe(EXIT.failed);
    const report = JSON.parse(result.stdout) as VerifyReport;
    const differing = report.dates.flatMap(({ date, cells }) =>
      cells.filter((cell) => cell.outcome === 'differs').map((cell) => `${date} ${cell.stage}`),
    );
    expect(changed.length).toBeGreaterThan(0);
    expect(differing).toEqual(changed.map((date) => `${date} summarize`));
  });

  it('verifies a sample of dates drawn with a printed seed, and the same dates again with that seed', async () => {
    // Act
    const drawn = await cli(['verify', '--sample', '3', '--stage', 'trend,report']);
    const seed = /with seed ([0-9a-f]{8})/.exec(drawn.stdout)?.[1];
    const again = await cli([
      'verify',
      '--sample',
      '3',
      '--seed',
      String(seed),
      '--stage',
      'trend',
      '--stage',
      'report',
    ]);

    // Assess
    expect(drawn.code).toBe(EXIT.ok);
    expect(drawn.stdout).toContain(
      `Sample: 3 dates drawn from 14 with seed ${seed} (the same seed draws the same dates).`,
    );
    const dates = (stdout: string) => [...stdout.matchAll(/^(\d{4}-\d{2}-\d{2}) {2}same/gm)].map((m) => m[1]);
    expect(dates(drawn.stdout)).toHaveLength(3);
    expect(dates(again.stdout)).toEqual(dates(drawn.stdout));
    expect(again.stdout).toContain('date        trend    report');
  });

  it('refuses bad usage with exit 2, naming field, value and accepted form, before touching anything', async () => {
    // Prepare
    const before = await checksum();

    // Act
    const result = await cli([
      'verify',
      '--from',
      '2026-03-10',
      '--to',
      '2026-03-02',
      '--stage',
      'summarise',
      '--sample',
      'few',
    ]);
    const seedAlone = await cli(['verify', '--seed', 'abc']);
    const unknownFlag = await cli(['verify', '--stages-only', 'trend']);

    // Assess
    expect(result).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr: [
        'Invalid --sample: got "few"; expected a whole number of dates, e.g. 30.',
        'Invalid --stage: got "summarise"; expected one of collect, validate, summarize, trend, report.',
        'Invalid --to: got "2026-03-02"; expected a date on or after --from (2026-03-10).',
        'Nothing was changed.',
      ].join('\n'),
    });
    expect(seedAlone.stderr).toBe(
      'Invalid --seed: got "abc"; expected a seed only with --sample (it draws the sample).\nNothing was changed.',
    );
    expect([seedAlone.code, unknownFlag.code]).toEqual([EXIT.usage, EXIT.usage]);
    expect(await checksum()).toEqual(before);
  });

  it('refuses to run while another process holds the data directory, and says so', async () => {
    // Prepare: a live process named as the directory's holder, as a running command would be
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    writeFileSync(join(dataDir, 'in-use.lock'), String(holder.pid));

    try {
      // Act (a process of its own: the lock's pid check is the point)
      const result = await hindsight(['--data-dir', dataDir, 'verify'], { cwd: project });

      // Assess
      expect(result.code).toBe(EXIT.failed);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`is in use by process ${holder.pid}`);
      expect(result.stderr).toContain('Verify did not run: on the local data directory it recomputes stages');
    } finally {
      holder.kill();
      rmSync(join(dataDir, 'in-use.lock'), { force: true });
    }
  });

  it('exits 0, 1 and 2 as a process too', async () => {
    const same = await hindsight(['--data-dir', dataDir, 'verify', '--stage', 'report', '--from', LAST], {
      cwd: project,
    });
    const bad = await hindsight(['--data-dir', dataDir, 'verify', '--stage', 'nope'], { cwd: project });
    const differs = await hindsight(
      ['--data-dir', dataDir, '--param', 'rowsPerDay=21', 'verify', '--stage', 'collect', '--from', LAST],
      { cwd: project },
    );
    expect([same.code, bad.code, differs.code]).toEqual([EXIT.ok, EXIT.usage, EXIT.failed]);
    expect(differs.stdout).toContain(
      `    collect on ${LAST}, table meter_readings: 0 rows only stored, 1 row only recomputed`,
    );
  });
});
