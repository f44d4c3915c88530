import './lambda-environment';
import { dateRange } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import { createVerifyHandler } from '../../lambdas/handlers/verify';
import { runStageTask } from '../../lambdas/workflow/steps';
import type { VerifyChosen, VerifyDateResult } from '../../lambdas/workflow/verify-tasks';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseChecksum } from '../support/state-checksum';
import {
  DAILY_EXECUTION,
  dailyLeaseStore,
  lambdaContext,
  observerWithClock,
  testDependencies,
  useHandlerTestBed,
} from './support';

const DATES = dateRange('2026-02-20', '2026-02-26');

describe('Handler: verify', () => {
  const bed = useHandlerTestBed();

  beforeAll(async () => {
    const deps = testDependencies(bed.sql, pipeline, { store: dailyLeaseStore() });
    for (const date of DATES) {
      for (const stage of pipeline.names) {
        await runStageTask(deps, stage, { date, token: 1, executionId: DAILY_EXECUTION });
      }
    }
  });

  const handler = () => createVerifyHandler(testDependencies(bed.sql, pipeline), observerWithClock(0, 12));

  it('chooses the dates of the console input and logs the range and the seed', async () => {
    // Act
    const chosen = (await handler()(
      { action: 'choose', request: { sample: 2, seed: 'logged' } },
      lambdaContext('Verify'),
    )) as VerifyChosen;

    // Assess
    expect(chosen).toMatchObject({
      from: DATES[0],
      to: DATES[6],
      sample: { size: 2, of: 7, seed: 'logged' },
      historyStart: DATES[0],
      notVerified: { stale: 0, missing: 0, skipped: 0 },
    });
    expect(chosen.items).toHaveLength(2);
    expect(chosen.items[0].stages).toEqual(pipeline.names);
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Chose 2 dates to verify',
        handler: 'verify',
        action: 'choose',
        from: DATES[0],
        to: DATES[6],
        seed: 'logged',
        durationMs: 12,
      }),
    ]);
    expect(bed.output.emf()).toEqual([]);
  });

  it('verifies one date without changing a row, and logs the rows of what differs', async () => {
    // Prepare
    const date = DATES[3];
    await bed.sql.query(
      `DELETE FROM meter_trend WHERE day = $1::date AND meter_id = (SELECT min(meter_id) FROM meter_trend WHERE day = $1::date)`,
      [date],
    );
    const tampered = await databaseChecksum(bed.sql);

    try {
      // Act
      const result = (await handler()(
        { action: 'date', date, stages: ['summarize', 'trend'], historyStart: DATES[0] },
        lambdaContext('Verify'),
      )) as VerifyDateResult;

      // Assess
      expect(result).toMatchObject({
        date,
        counts: { same: 1, differs: 1, failed: 0, stale: 0 },
        differing: ['trend: meter_trend 0 only stored, 1 only recomputed'],
      });
      const [line] = bed.output.logs();
      expect(line).toMatchObject({
        message: `Verified ${date}: trend: meter_trend 0 only stored, 1 only recomputed`,
        action: 'date',
        date,
        differing: ['trend: meter_trend 0 only stored, 1 only recomputed'],
      });
      expect(String(line.cells)).toContain('"onlyRecomputed":[{"day":"2026-02-23"');
      expect(await databaseChecksum(bed.sql)).toBe(tampered);
    } finally {
      await testDependenciesRerun(date);
    }
  });

  it('reports the totals as the VerifyDifferences and CellsVerified metrics, and names what differs', async () => {
    // Prepare
    const chosen = {
      from: DATES[0],
      to: DATES[1],
      sample: null,
      items: [{}, {}],
      notVerified: { stale: 1, missing: 0, skipped: 0 },
    };
    const verified = [
      { date: DATES[0], counts: { same: 5, differs: 0, failed: 0, stale: 0 }, differing: [] },
      {
        date: DATES[1],
        counts: { same: 3, differs: 1, failed: 0, stale: 0 },
        differing: ['summarize: meter_daily 1 only stored, 1 only recomputed'],
      },
    ];

    // Act
    const report = await handler()({ action: 'report', chosen, verified }, lambdaContext('Verify'));

    // Assess
    expect(report).toMatchObject({
      totals: { dates: 2, cells: 10, same: 8, differs: 1, failed: 0, stale: 1 },
      differs: true,
      summary: [
        `Verified ${DATES[0]} .. ${DATES[1]}: 8 same, 1 differ, 0 failed; not verified: 1 stale, 0 missing, 0 skipped.`,
        `${DATES[1]} summarize: meter_daily 1 only stored, 1 only recomputed`,
      ].join('\n'),
    });
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        namespace: 'Hindsight',
        dimensions: [['service']],
        metrics: {
          VerifyDifferences: { value: 1, unit: 'Count' },
          CellsVerified: { value: 9, unit: 'Count' },
        },
      }),
    ]);
  });

  it('refuses a payload that is not one of its three actions, naming the accepted form', async () => {
    await expect(handler()({ action: 'fix' }, lambdaContext('Verify'))).rejects.toThrow(InvalidInputError);
    await expect(handler()({ action: 'fix' }, lambdaContext('Verify'))).rejects.toThrow(
      'expected an object with "action": "choose", "date" or "report"',
    );
  });

  /** Runs trend and report again for `date` and after, so later tests see fresh, untouched data. */
  async function testDependenciesRerun(date: string): Promise<void> {
    const deps = testDependencies(bed.sql, pipeline, { store: dailyLeaseStore() });
    for (const day of DATES.filter((d) => d >= date)) {
      for (const stage of ['trend', 'report']) {
        await runStageTask(deps, stage, { date: day, token: 1, executionId: DAILY_EXECUTION });
      }
    }
  }
});
