import './lambda-environment';
import { dateRange } from '../../lambdas/engine/dates';
import { EarlierDatesStaleError, InvalidInputError } from '../../lambdas/engine/errors';
import { createCheckEarlierDatesHandler } from '../../lambdas/handlers/check-earlier-dates';
import { runStageTask } from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import { pipeline as validateV2 } from '../fixtures/pipelines/meters-validate-v2';
import { databaseChecksum } from '../support/state-checksum';
import {
  DAILY_EXECUTION,
  dailyLeaseStore,
  lambdaContext,
  observerWithClock,
  testDependencies,
  useHandlerTestBed,
} from './support';

const HISTORY = dateRange('2026-02-20', '2026-02-26');
const DATE = '2026-02-27';

describe('Handler: check-earlier-dates', () => {
  const bed = useHandlerTestBed();

  beforeAll(async () => {
    const deps = testDependencies(bed.sql, pipeline, { store: dailyLeaseStore() });
    for (const date of HISTORY) {
      for (const stage of pipeline.names) {
        await runStageTask(deps, stage, { date, token: 1, executionId: DAILY_EXECUTION });
      }
    }
  });

  it('logs the earlier dates it found fresh, and returns them', async () => {
    // Prepare
    const check = createCheckEarlierDatesHandler(
      testDependencies(bed.sql, pipeline),
      observerWithClock(0, 4),
    );

    // Act
    const result = await check({ date: DATE }, lambdaContext('CheckEarlierDates'));

    // Assess
    expect(result).toEqual({ date: DATE, checked: { from: '2026-02-21', to: '2026-02-26' } });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: `The earlier dates ${DATE} reads are fresh: 2026-02-21 .. 2026-02-26`,
        handler: 'check-earlier-dates',
        date: DATE,
        checkedFrom: '2026-02-21',
        checkedTo: '2026-02-26',
        durationMs: 4,
      }),
    ]);
    expect(bed.output.emf()).toEqual([]);
  });

  it('has nothing to check for a date before the history start', async () => {
    const check = createCheckEarlierDatesHandler(
      testDependencies(bed.sql, pipeline),
      observerWithClock(0, 1),
    );
    await expect(check({ date: '2026-01-05' }, lambdaContext('CheckEarlierDates'))).resolves.toEqual({
      date: '2026-01-05',
      checked: null,
    });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'No earlier date to check for 2026-01-05' }),
    ]);
  });

  it('fails with EarlierDatesStaleError naming the dates, stages and why, writing nothing, after one error line', async () => {
    // Prepare: validate changed, so the earlier dates trend reads rerun from validate.
    const check = createCheckEarlierDatesHandler(
      testDependencies(bed.sql, validateV2),
      observerWithClock(0, 2),
    );
    const before = await databaseChecksum(bed.sql);

    // Act
    const failure = check({ date: DATE }, lambdaContext('CheckEarlierDates'));

    // Assess
    await expect(failure).rejects.toBeInstanceOf(EarlierDatesStaleError);
    await expect(failure).rejects.toMatchObject({
      name: 'EarlierDatesStaleError',
      date: DATE,
      earlierDates: dateRange('2026-02-21', '2026-02-26'),
      message: [
        `The daily run for ${DATE} did not run: 6 earlier dates it reads are planned to be rewritten, so its results would be stale at once.`,
        '  2026-02-21 .. 2026-02-26 (6 dates): rerun from validate, ' +
          'read by trend; why: code changed: validate v1 → v2',
        `Nothing was written, and ${DATE} stays due. Start the backfill {"mode": "auto"}: it reruns those dates in order, then runs ${DATE}.`,
      ].join('\n'),
    });
    expect(await databaseChecksum(bed.sql)).toBe(before);
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: `Refused the daily run for ${DATE}: 6 earlier dates it reads are planned to be rewritten`,
        handler: 'check-earlier-dates',
        date: DATE,
        earlierDates: dateRange('2026-02-21', '2026-02-26'),
        error: expect.objectContaining({ name: 'EarlierDatesStaleError' }),
      }),
    ]);
  });

  it('refuses a malformed input naming the field, the value and the accepted form', async () => {
    const check = createCheckEarlierDatesHandler(
      testDependencies(bed.sql, pipeline),
      observerWithClock(0, 1),
    );
    const failure = check({ date: '2026-02-30' }, lambdaContext('CheckEarlierDates'));
    await expect(failure).rejects.toBeInstanceOf(InvalidInputError);
    await expect(failure).rejects.toThrow(
      'Invalid date: got "2026-02-30"; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31.',
    );
  });
});
