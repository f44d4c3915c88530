import { dateRange, type IsoDate } from '../../lambdas/engine/dates';
import {
  InvalidInputError,
  MissingInputError,
  StageFailedError,
  StaleFenceTokenError,
} from '../../lambdas/engine/errors';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlClient } from '../../lambdas/engine/sql';
import { defineStage, type PipelineParams } from '../../lambdas/engine/stage';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds, dumpTables, resetDatabase } from '../support/databases';

const params: PipelineParams = { rowsPerDay: '300' };
const ownedTables = pipeline.stages.flatMap((stage) => stage.owns);
const ledgerTables = ['hindsight_stage_state', 'hindsight_run_history', 'hindsight_fence'];

async function runDates(sql: SqlClient, dates: readonly IsoDate[], chain: Pipeline = pipeline, token = 1) {
  for (const date of dates) {
    for (const stage of chain.stages)
      await runStage(sql, chain, { stage: stage.name, date, fenceToken: token }, params);
  }
}

describe.each(databaseKinds())('Function: runStage on $name', (kind) => {
  let sql: SqlClient;
  beforeAll(async () => {
    sql = await kind.open();
  });
  beforeEach(() => resetDatabase(sql));
  afterAll(() => sql.close());

  it('produces every stage for a date and records its provenance', async () => {
    // Act
    await runDates(sql, ['2026-03-01']);

    // Assess
    const ledger = await readLedger(sql);
    expect(ledger.map((row) => row.stage).sort()).toEqual([...pipeline.names].sort());
    const report = ledger.find((row) => row.stage === 'report')!;
    expect(report.lineage).toEqual({ collect: 1, validate: 1, summarize: 1, trend: 1 });
    const trend = ledger.find((row) => row.stage === 'trend')!;
    expect(report.inputRunIds).toEqual({ trend: { '2026-03-01': trend.runId } });
    const { rows } = await sql.query<{ n: number }>(
      'SELECT count(*) AS n FROM usage_report WHERE day = $1::date',
      ['2026-03-01'],
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(report.rowsWritten).toBe(rows[0].n);
  });

  it('gives identical rows when a date is run twice', async () => {
    // Prepare
    await runDates(sql, dateRange('2026-03-01', '2026-03-08'));
    const first = await dumpTables(sql, ownedTables);

    // Act
    await runDates(sql, ['2026-03-05']);

    // Assess
    expect(await dumpTables(sql, ownedTables)).toEqual(first);
    const history = await readHistory(sql);
    expect(history).toHaveLength(9 * pipeline.stages.length);
  });

  it('fails a stage mid-way without leaving partial rows or touching the ledger', async () => {
    // Prepare: a validate that writes its rows and then fails
    const failing = definePipeline(
      pipeline.stages.map((stage) =>
        stage.name !== 'validate'
          ? stage
          : defineStage({
              ...stage,
              run: async (context) => {
                await stage.run(context);
                throw new Error('disk full');
              },
            }),
      ),
    );
    await runDates(sql, ['2026-03-01']);
    const before = await dumpTables(sql, [...ownedTables, ...ledgerTables]);

    // Act
    const attempt = runStage(sql, failing, { stage: 'validate', date: '2026-03-01', fenceToken: 2 }, params);

    // Assess
    await expect(attempt).rejects.toThrow(StageFailedError);
    await expect(attempt).rejects.toThrow('Stage validate failed for 2026-03-01: disk full');
    expect(await dumpTables(sql, [...ownedTables, ...ledgerTables])).toEqual(before);
  });

  it('makes trend depend on earlier dates, so their order matters', async () => {
    // Prepare
    await runDates(sql, dateRange('2026-03-01', '2026-03-07'));
    const window = async () =>
      (
        await sql.query(
          'SELECT meter_id, days_in_window, kwh_7d FROM meter_trend WHERE day = $1::date ORDER BY meter_id',
          ['2026-03-07'],
        )
      ).rows;
    const before = await window();

    // Act: an earlier date of the window changes, then trend runs again for the last date
    await runStage(
      sql,
      pipeline,
      { stage: 'collect', date: '2026-03-03', fenceToken: 1 },
      { rowsPerDay: '150' },
    );
    for (const stage of ['validate', 'summarize'])
      await runStage(sql, pipeline, { stage, date: '2026-03-03', fenceToken: 1 }, params);
    await runStage(sql, pipeline, { stage: 'trend', date: '2026-03-07', fenceToken: 1 }, params);

    // Assess
    const after = await window();
    expect(after).not.toEqual(before);
    expect(after.every((row) => row.days_in_window === 7)).toBe(true);
    const trend = (await readLedger(sql)).find((row) => row.stage === 'trend' && row.date === '2026-03-07')!;
    expect(Object.keys(trend.inputRunIds)).toEqual(['summarize']);
    expect(Object.keys(trend.inputRunIds.summarize).sort()).toEqual(dateRange('2026-03-01', '2026-03-07'));
  });

  it('refuses a stage whose input has not run for the date, writing nothing', async () => {
    const before = await dumpTables(sql, [...ownedTables, ...ledgerTables]);
    const attempt = runStage(
      sql,
      pipeline,
      { stage: 'summarize', date: '2026-03-01', fenceToken: 1 },
      params,
    );
    await expect(attempt).rejects.toThrow(MissingInputError);
    await expect(attempt).rejects.toThrow('its input validate has not run for 2026-03-01');
    expect(await dumpTables(sql, [...ownedTables, ...ledgerTables])).toEqual(before);
  });

  it('refuses a fencing token older than one already used, writing nothing', async () => {
    await runDates(sql, ['2026-03-01'], pipeline, 5);
    const before = await dumpTables(sql, [...ownedTables, ...ledgerTables]);
    const attempt = runStage(sql, pipeline, { stage: 'collect', date: '2026-03-02', fenceToken: 4 }, params);
    await expect(attempt).rejects.toThrow(StaleFenceTokenError);
    await expect(attempt).rejects.toThrow(
      'Refused to commit with fencing token 4: token 5 has already been used',
    );
    expect(await dumpTables(sql, [...ownedTables, ...ledgerTables])).toEqual(before);
  });

  it.each([
    [
      { stage: 'collect', date: '2026-02-30', fenceToken: 1 },
      'Invalid date: got "2026-02-30"; expected a real calendar date written as YYYY-MM-DD',
    ],
    [{ stage: 'collect', date: '26-01-01', fenceToken: 1 }, 'Invalid date: got "26-01-01"'],
    [
      { stage: 'cleanse', date: '2026-01-01', fenceToken: 1 },
      'Invalid stage: got "cleanse"; expected one of collect, validate, summarize, trend, report.',
    ],
    [
      { stage: 'collect; DROP TABLE meter_readings', date: '2026-01-01', fenceToken: 1 },
      'Invalid stage: got "collect; DROP TABLE meter_readings"',
    ],
    [
      { stage: 'collect', date: '2026-01-01', fenceToken: -1 },
      'Invalid fenceToken: got -1; expected a whole number from 0',
    ],
  ])('refuses bad input %j before writing anything', async (request, message) => {
    const before = await dumpTables(sql, [...ownedTables, ...ledgerTables]);
    const attempt = runStage(sql, pipeline, request as never, params);
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(message);
    expect(await dumpTables(sql, [...ownedTables, ...ledgerTables])).toEqual(before);
  });
});
