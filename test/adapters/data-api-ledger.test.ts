/**
 * The ledger read through the Data API adapter, on real SQL (the Data API emulated in front of an
 * embedded PostgreSQL, with its 1 MiB response limit): a ledger of years must still plan.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import type { DataApiSqlClient } from '../../lambdas/adapters/data-api-sql';
import { SqlResultTooLargeError } from '../../lambdas/engine/sql';
import { LEDGER_PAGE_ROWS, readAppliedTransitions, readLedger } from '../../lambdas/ledger/ledger-store';
import { loadMigrations, migrate } from '../../lambdas/ledger/migrator';
import { DATA_API_RESPONSE_LIMIT_BYTES, DataApiEmulator } from '../support/data-api-emulator';
import { METERS } from '../support/fixture-pipelines';

const rds = mockClient(RDSDataClient);
let database: DataApiEmulator;
let sql: DataApiSqlClient;

/** `days` days from 2016-12-01 × the meters fixture's five stages, each recording `inputDays` input run ids. */
async function fillLedger(days: number, inputDays: number): Promise<void> {
  await sql.query('TRUNCATE hindsight_stage_state');
  await sql.query(
    `INSERT INTO hindsight_stage_state
       (day, stage, version, lineage, input_run_ids, run_id, execution_id, fence_token, started_at, finished_at, rows_written)
     SELECT d::date, s.stage, 1, '{"collect": 1}'::jsonb,
            (SELECT jsonb_object_agg((d::date - k)::text, gen_random_uuid()) FROM generate_series(0, $2::int - 1) k),
            gen_random_uuid(), 'arn:aws:states:eu-west-1:123456789012:execution:HindsightDaily:x', 1, now(), now(), 1
     FROM generate_series('2016-12-01'::date, '2016-12-01'::date + ($1::int - 1), interval '1 day') d,
          unnest(ARRAY['collect', 'validate', 'summarize', 'trend', 'report']) AS s(stage)`,
    [days, inputDays],
  );
}

beforeAll(async () => {
  database = await DataApiEmulator.create();
  database.route(rds);
  sql = database.sqlClient();
  await migrate(sql, loadMigrations(METERS.migrationsDirectory));
});

afterAll(async () => {
  await database?.close();
});

describe('Function: readLedger, through the Data API', () => {
  it('fails as the Data API does when one statement would return the whole ten-year ledger', async () => {
    // Prepare: the read the planner made before it paged
    await fillLedger(3653, 7);

    // Act / Assess
    await expect(sql.query('SELECT * FROM hindsight_stage_state')).rejects.toThrow(SqlResultTooLargeError);
  });

  it('reads a ten-year ledger (18,265 rows, several MiB) in pages, each under the limit', async () => {
    // Prepare
    await fillLedger(3653, 7);
    const before = database.statements.length;

    // Act
    const ledger = await readLedger(sql);

    // Assess
    expect(ledger).toHaveLength(3653 * 5);
    // In (date, stage) order: collect is the first name of the alphabet, validate the last.
    expect(ledger[0]).toMatchObject({ date: '2016-12-01', stage: 'collect' });
    expect(ledger.at(-1)).toMatchObject({ date: '2026-12-01', stage: 'validate' });
    const keys = ledger.map((row) => `${row.date} ${row.stage}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([...keys].sort());
    expect(database.statements.length - before).toBe(Math.ceil((3653 * 5 + 1) / LEDGER_PAGE_ROWS));
  });

  it('halves its pages when rows are so large that a page would pass 1 MiB', async () => {
    // Prepare: a stage with a 366-day lookback records 366 input run ids per row (~20 KB)
    await fillLedger(60, 366);

    // Act
    const ledger = await readLedger(sql);

    // Assess
    expect(ledger).toHaveLength(300);
    expect(Object.keys(ledger[0].inputRunIds)).toHaveLength(366);
    expect(JSON.stringify(ledger).length).toBeGreaterThan(DATA_API_RESPONSE_LIMIT_BYTES * 2);
  });

  it('reads a date range in pages too', async () => {
    // Prepare
    await fillLedger(400, 7);

    // Act
    const ledger = await readLedger(sql, { from: '2017-01-01', to: '2017-12-31' });

    // Assess
    expect(ledger).toHaveLength(365 * 5);
    expect(ledger[0].date).toBe('2017-01-01');
    expect(ledger.at(-1)?.date).toBe('2017-12-31');
  });
});

describe('Function: readAppliedTransitions, through the Data API', () => {
  it('reads every applied transition, past one page', async () => {
    // Prepare
    await sql.query(
      `INSERT INTO hindsight_transitions_applied (transition_id, day, stage, target_version)
       SELECT t, d::date, 'validate', 2
       FROM generate_series('2020-01-01'::date, '2022-12-31'::date, interval '1 day') d,
            unnest(ARRAY['0001_clear_scores', '0002_drop_legacy']) AS t`,
    );

    // Act
    const applied = await readAppliedTransitions(sql);

    // Assess
    expect(applied.size).toBe(1096);
    expect(applied.get('2021-06-30')).toEqual(new Set(['0001_clear_scores', '0002_drop_legacy']));
  });
});
