/**
 * `hindsight verify` on the orders example: two weeks of clean data are the same in every cell
 * (transform's mark on ingest's raw rows is declared with `annotates`, so ingest's rows compare
 * without it), and nothing is written. The framework's own verify tests run the meters fixture.
 */
import { join } from 'node:path';
import { dateRange } from '../../lambdas/engine/dates';
import type { SqlClient } from '../../lambdas/engine/sql';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { chooseVerification, rollingBack, verifySelection } from '../../lambdas/workflow/verify';
import { databaseKinds } from '../../test/support/databases';
import { databaseChecksum } from '../../test/support/state-checksum';
import { pipeline } from '../index';

const EXAMPLE_MIGRATIONS = join(__dirname, '..', 'migrations');
const DATES = dateRange('2026-05-01', '2026-05-14');
const params = { rowsPerDay: '120' };

describe('The orders example, verified', () => {
  let sql: SqlClient;

  beforeAll(async () => {
    sql = await databaseKinds()[0].open({ migrations: EXAMPLE_MIGRATIONS });
    for (const date of DATES) {
      for (const stage of pipeline.names)
        await runStage(sql, pipeline, { stage, date, fenceToken: 1 }, params);
    }
  });

  afterAll(() => sql?.close());

  it('finds every date and stage the same, and writes nothing', async () => {
    // Prepare
    const before = await databaseChecksum(sql);
    const { rows } = await sql.query<{ n: number }>(
      'SELECT count(*) AS n FROM raw_orders WHERE rejected_reason IS NOT NULL',
    );
    expect(Number(rows[0].n)).toBeGreaterThan(0);

    // Act
    const selection = await chooseVerification(sql, pipeline, {}, { today: '2026-06-01', maxDays: 3660 });
    const report = await verifySelection({ pipeline, params, rolledBack: rollingBack(sql) }, selection);

    // Assess
    expect(report.totals).toEqual({
      dates: 14,
      cells: 70,
      same: 70,
      differs: 0,
      failed: 0,
      stale: 0,
      missing: 0,
      skipped: 0,
    });
    expect(await databaseChecksum(sql)).toBe(before);
  });
});
