/**
 * Verification on PGlite and on a real PostgreSQL server: two weeks of the meters fixture, then
 * `chooseVerification` + `verifySelection` (what `hindsight verify` and the Verify workflow run).
 * Clean data is all same and leaves every table, the ledger and the fence byte-identical; a
 * tampered, a deleted and an extra row are each found with their table, date and row; a stage whose
 * code changed without a version bump differs on exactly the dates it computes differently.
 */
import { dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import type { SqlClient, SqlRow } from '../../lambdas/engine/sql';
import { defineStage } from '../../lambdas/engine/stage';
import type { CellVerdict, VerifyReport } from '../../lambdas/engine/verify';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { chooseVerification, rollingBack, verifyCell, verifySelection } from '../../lambdas/workflow/verify';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  UNVERIFIABLE_REASON,
  pipeline as unverifiable,
} from '../fixtures/pipelines/meters-collect-unverifiable';
import { pipeline as unbumped } from '../fixtures/pipelines/meters-summarize-unbumped';
import { pipeline as annotating, undeclared } from '../fixtures/pipelines/meters-validate-annotates';
import { databaseKinds } from '../support/databases';
import { databaseChecksum } from '../support/state-checksum';

const DATES = dateRange('2026-03-01', '2026-03-14');
const FIRST = DATES[0];
const LAST = DATES[DATES.length - 1];
const PARAMS = { rowsPerDay: '20' };
const TODAY = '2026-03-20';

/** `date stage outcome` for every cell, in report order. */
function outcomes(report: VerifyReport): string[] {
  return report.dates.flatMap(({ date, cells }) =>
    cells.map((cell) => `${date} ${cell.stage} ${cell.outcome}`),
  );
}

/** `date stage` of every cell that is not the same. */
function notSame(report: VerifyReport): string[] {
  return report.dates.flatMap(({ date, cells }) =>
    cells.filter((cell) => cell.outcome !== 'same').map((cell) => `${date} ${cell.stage}`),
  );
}

function cellOf(report: VerifyReport, date: IsoDate, stage: string): CellVerdict {
  const cell = report.dates.find((row) => row.date === date)?.cells.find((c) => c.stage === stage);
  if (!cell) throw new Error(`No cell ${date} ${stage} in the report.`);
  return cell;
}

describe.each(databaseKinds().map((kind) => [kind.name, kind] as const))(
  'Function: verifySelection on %s',
  (_, kind) => {
    let sql: SqlClient;

    const verify = async (code: Pipeline, raw: unknown): Promise<VerifyReport> => {
      const selection = await chooseVerification(sql, code, raw, { today: TODAY, maxDays: 3660 });
      return verifySelection({ pipeline: code, params: PARAMS, rolledBack: rollingBack(sql) }, selection);
    };
    const runChain = async (dates: readonly IsoDate[], from = pipeline.names[0]) => {
      for (const date of dates) {
        for (const stage of pipeline.names.slice(pipeline.indexOf(from))) {
          await runStage(sql, pipeline, { stage, date, fenceToken: 1 }, PARAMS);
        }
      }
    };
    /** One row of `table` on `date`, as the adapter returns it. */
    const oneRow = async (table: string, date: IsoDate): Promise<SqlRow> => {
      const { rows } = await sql.query(
        `SELECT * FROM ${table} WHERE day = $1::date ORDER BY meter_id LIMIT 1`,
        [date],
      );
      if (!rows[0]) throw new Error(`No ${table} row on ${date}.`);
      return rows[0];
    };

    beforeAll(async () => {
      sql = await kind.open();
      await runChain(DATES);
    });

    afterAll(() => sql?.close());

    it('finds every cell of clean data the same, and leaves every table, the ledger and the fence byte-identical', async () => {
      // Prepare
      const before = await databaseChecksum(sql);

      // Act
      const report = await verify(pipeline, { from: FIRST, to: LAST });

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
      expect(outcomes(report).slice(0, 6)).toEqual([
        `${FIRST} collect same`,
        `${FIRST} validate same`,
        `${FIRST} summarize same`,
        `${FIRST} trend same`,
        `${FIRST} report same`,
        `${DATES[1]} collect same`,
      ]);
      expect(cellOf(report, FIRST, 'validate')).toMatchObject({
        outcome: 'same',
        tables: [
          { table: 'valid_readings', onlyStored: 0, onlyRecomputed: 0 },
          { table: 'rejected_readings', onlyStored: 0, onlyRecomputed: 0 },
        ],
      });
      expect(await databaseChecksum(sql)).toBe(before);
    });

    it('reports a tampered row with its table, its date, the row as stored and as recomputed', async () => {
      // Prepare
      const date = DATES[3];
      const original = await oneRow('usage_report', date);
      await sql.query(
        `UPDATE usage_report SET kwh_day = kwh_day + 1 WHERE day = $1::date AND meter_id = $2`,
        [date, original.meter_id as string],
      );
      const tampered = await oneRow('usage_report', date);

      try {
        // Act
        const report = await verify(pipeline, { from: FIRST, to: LAST });

        // Assess
        expect(notSame(report)).toEqual([`${date} report`]);
        expect(cellOf(report, date, 'report')).toEqual({
          stage: 'report',
          outcome: 'differs',
          tables: [
            expect.objectContaining({
              table: 'usage_report',
              onlyStored: 1,
              onlyRecomputed: 1,
              examples: { onlyStored: [tampered], onlyRecomputed: [original] },
            }),
          ],
        });
        expect(tampered.kwh_day).not.toEqual(original.kwh_day);
      } finally {
        await sql.query(
          `UPDATE usage_report SET kwh_day = $3::numeric WHERE day = $1::date AND meter_id = $2`,
          [date, original.meter_id as string, original.kwh_day as string],
        );
      }
    });

    it('reports a deleted row as only recomputed, with its table and date', async () => {
      // Prepare: a date with a rejected reading (validate's second table; nothing downstream reads it)
      const { rows } = await sql.query<{ day: string }>('SELECT min(day) AS day FROM rejected_readings');
      const date = rows[0].day;
      const deleted = await oneRow('rejected_readings', date);
      await sql.query(
        'DELETE FROM rejected_readings WHERE day = $1::date AND meter_id = $2 AND reading_no = $3',
        [date, deleted.meter_id as string, deleted.reading_no as number],
      );

      try {
        // Act
        const report = await verify(pipeline, { from: FIRST, to: LAST });

        // Assess
        expect(notSame(report)).toEqual([`${date} validate`]);
        expect(cellOf(report, date, 'validate')).toMatchObject({
          outcome: 'differs',
          tables: [
            { table: 'valid_readings', onlyStored: 0, onlyRecomputed: 0 },
            {
              table: 'rejected_readings',
              onlyStored: 0,
              onlyRecomputed: 1,
              examples: { onlyStored: [], onlyRecomputed: [deleted] },
            },
          ],
        });
      } finally {
        await sql.query(
          'INSERT INTO rejected_readings (day, meter_id, reading_no, reason) VALUES ($1::date, $2, $3, $4)',
          [date, deleted.meter_id as string, deleted.reading_no as number, deleted.reason as string],
        );
      }
    });

    it('reports an extra row as only stored, with its table and date', async () => {
      // Prepare
      const date = DATES[9];
      await sql.query(
        `INSERT INTO usage_report (day, meter_id, rank, kwh_day, kwh_7d, trend) VALUES ($1::date, 'M99', 99, 0, 0, 'flat')`,
        [date],
      );

      try {
        // Act
        const report = await verify(pipeline, { from: FIRST, to: LAST });

        // Assess
        expect(notSame(report)).toEqual([`${date} report`]);
        expect(cellOf(report, date, 'report')).toMatchObject({
          outcome: 'differs',
          tables: [
            {
              table: 'usage_report',
              onlyStored: 1,
              onlyRecomputed: 0,
              examples: {
                onlyStored: [
                  { day: date, meter_id: 'M99', rank: 99, kwh_day: '0.000', kwh_7d: '0.000', trend: 'flat' },
                ],
                onlyRecomputed: [],
              },
            },
          ],
        });
      } finally {
        await sql.query(`DELETE FROM usage_report WHERE day = $1::date AND meter_id = 'M99'`, [date]);
      }
    });

    it('reports a stage whose code changed without a version bump as differing on exactly the dates it computes differently', async () => {
      // Prepare: the new summarize leaves out valid readings under 0.1 kWh, so it differs where there are some
      const { rows } = await sql.query<{ day: string }>(
        'SELECT DISTINCT day FROM valid_readings WHERE kwh < 0.1 AND day BETWEEN $1::date AND $2::date ORDER BY day',
        [FIRST, LAST],
      );
      const changed = rows.map((row) => row.day);
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.length).toBeLessThan(DATES.length);

      // Act
      const report = await verify(unbumped, { from: FIRST, to: LAST });

      // Assess: the ledger sees nothing (same version), verify sees every such date, and only those
      expect(notSame(report)).toEqual(changed.map((date) => `${date} summarize`));
      for (const date of changed) {
        const cell = cellOf(report, date, 'summarize');
        expect(cell).toMatchObject({ outcome: 'differs', tables: [{ table: 'meter_daily' }] });
        if (cell.outcome !== 'differs') continue;
        const [table] = cell.tables;
        // Each meter with such a reading changes (one stored row for one recomputed), or vanishes if that was all it had.
        expect(table.onlyStored).toBeGreaterThanOrEqual(Math.max(1, table.onlyRecomputed));
        expect(table.examples.onlyStored[0]).toMatchObject({ day: date, meter_id: expect.any(String) });
      }
      expect(report.totals).toMatchObject({ differs: changed.length, same: 70 - changed.length });
    });

    it('lists a stage declared not verifiable as skipped, with its reason, and checks the others', async () => {
      // Act
      const report = await verify(unverifiable, { from: FIRST, to: DATES[1] });

      // Assess
      expect(cellOf(report, FIRST, 'collect')).toEqual({
        stage: 'collect',
        outcome: 'skipped',
        reason: UNVERIFIABLE_REASON,
      });
      expect(report.totals).toMatchObject({ cells: 10, same: 8, skipped: 2, differs: 0 });
    });

    it('verifies only the chosen stages of a seeded sample of dates, the same dates for the same seed', async () => {
      // Act
      const first = await verify(pipeline, { sample: 4, seed: 'replay-1', stages: ['trend', 'summarize'] });
      const again = await verify(pipeline, { sample: 4, seed: 'replay-1', stages: ['trend', 'summarize'] });

      // Assess
      expect(first.sample).toEqual({ size: 4, of: 14, seed: 'replay-1' });
      expect(first.stages).toEqual(['summarize', 'trend']);
      expect(first.dates.map((row) => row.date)).toEqual(again.dates.map((row) => row.date));
      expect(first.dates.map((row) => row.cells.map((cell) => cell.stage))).toEqual(
        Array.from({ length: 4 }, () => ['summarize', 'trend']),
      );
      expect(first.totals).toMatchObject({ cells: 8, same: 8 });
    });

    it('refuses a bad input before reading anything, naming field, value and accepted form', async () => {
      await expect(verify(pipeline, { stages: ['summarise'], sample: 0, color: 'red' })).rejects.toThrow(
        new InvalidInputError([
          { field: 'color', value: 'red', accepted: 'only the fields from, to, stages, sample, seed' },
          {
            field: 'stages.0',
            value: 'summarise',
            accepted: 'one of collect, validate, summarize, trend, report',
          },
          { field: 'sample', value: 0, accepted: 'a whole number of dates from 1 to 3660' },
        ]),
      );
    });

    it('reports a cell whose input a run rewrote after it was chosen as stale, never as a difference', async () => {
      // Prepare: choose, then rerun summarize on one date, as a backfill running beside verify would
      const date = DATES[10];
      const selection = await chooseVerification(
        sql,
        pipeline,
        { from: date, to: date },
        { today: TODAY, maxDays: 3660 },
      );
      await runStage(sql, pipeline, { stage: 'summarize', date, fenceToken: 1 }, PARAMS);

      try {
        // Act
        const report = await verifySelection(
          { pipeline, params: PARAMS, rolledBack: rollingBack(sql) },
          selection,
        );

        // Assess: summarize was rewritten with the same result (same); trend read its old run (stale)
        expect(cellOf(report, date, 'summarize').outcome).toBe('same');
        expect(cellOf(report, date, 'trend')).toMatchObject({
          outcome: 'stale',
          rewrittenMeanwhile: true,
          reasons: [
            { kind: 'input-stale', stage: 'trend', input: 'summarize', inputDate: date, change: 'rerun' },
          ],
        });
        expect(report.totals.differs).toBe(0);
      } finally {
        await runChain(dateRange(date, LAST), 'trend');
      }
    });

    it('reports a cell whose stage fails to run as failed, with the error, rolls it back and goes on', async () => {
      // Prepare
      const broken = definePipeline(
        pipeline.stages.map((stage) =>
          stage.name === 'summarize'
            ? defineStage({
                ...stage,
                run: async ({ sql: tx, date }) => {
                  await tx.query(
                    'INSERT INTO meter_daily (day, meter_id, readings, kwh) VALUES ($1::date, $2, 1, 1)',
                    [date, 'M98'],
                  );
                  throw new Error('summarize exploded');
                },
              })
            : stage,
        ),
      );
      const before = await databaseChecksum(sql);

      // Act
      const report = await verify(broken, { from: FIRST, to: DATES[1], stages: ['summarize', 'trend'] });

      // Assess
      expect(outcomes(report)).toEqual([
        `${FIRST} summarize failed`,
        `${FIRST} trend same`,
        `${DATES[1]} summarize failed`,
        `${DATES[1]} trend same`,
      ]);
      expect(cellOf(report, FIRST, 'summarize')).toEqual({
        stage: 'summarize',
        outcome: 'failed',
        error: 'summarize exploded',
      });
      expect(await databaseChecksum(sql)).toBe(before);
    });

    it('leaves out the columns a later stage declares it writes into a table it does not own', async () => {
      // Prepare: two later dates through collect and a validate that marks faulty raw readings
      const dates = dateRange('2026-03-15', '2026-03-17');
      for (const date of dates) {
        for (const stage of ['collect', 'validate']) {
          await runStage(sql, annotating, { stage, date, fenceToken: 1 }, PARAMS);
        }
      }
      const { rows } = await sql.query<{ day: string }>(
        `SELECT DISTINCT day FROM meter_readings WHERE status = 'FAULTY' AND day >= $1::date ORDER BY day`,
        [dates[0]],
      );
      expect(rows.length).toBeGreaterThan(0);
      const request = { from: dates[0], to: dates[2], stages: ['collect', 'validate'] };

      // Act
      const silent = await verify(undeclared, request);
      const declared = await verify(annotating, request);

      // Assess: undeclared, collect differs where a reading was marked; declared, nothing differs
      expect(notSame(silent)).toEqual(rows.map((row) => `${row.day} collect`));
      const marked = cellOf(silent, rows[0].day, 'collect');
      expect(marked).toMatchObject({ outcome: 'differs', tables: [{ table: 'meter_readings' }] });
      if (marked.outcome === 'differs') {
        expect(marked.tables[0].examples.onlyStored[0]).toMatchObject({ status: 'FAULTY' });
        expect(marked.tables[0].examples.onlyRecomputed[0]).toMatchObject({ status: 'faulty' });
      }
      expect(declared.totals).toMatchObject({ cells: 6, same: 6 });
      expect(() =>
        definePipeline([
          ...pipeline.stages.slice(0, 4),
          defineStage({ ...pipeline.stages[4], annotates: { usage_report: ['rank'] } }),
        ]),
      ).toThrow(
        'Invalid stages[4].annotates.usage_report: got "usage_report"; expected a table an earlier stage owns',
      );
    });

    it('gives back what the rolled-back work returned, keeps none of its writes, and lets its errors through', async () => {
      // Prepare
      const rolledBack = rollingBack(sql);
      const before = await databaseChecksum(sql);

      // Act
      const result = await rolledBack(async (tx) => {
        await tx.query('DELETE FROM usage_report');
        return (await tx.query<{ n: number }>('SELECT count(*) AS n FROM usage_report')).rows[0].n;
      });

      // Assess
      expect(result).toBe(0);
      expect(await databaseChecksum(sql)).toBe(before);
      await expect(rolledBack(() => Promise.reject(new Error('stage code failed')))).rejects.toThrow(
        'stage code failed',
      );
      await expect(
        verifyCell({ pipeline, params: PARAMS, rolledBack }, FIRST, 'summarize', FIRST),
      ).resolves.toMatchObject({
        outcome: 'same',
      });
    });
  },
);
