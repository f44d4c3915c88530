/**
 * One wrong daily input must not plan years of work: "Resolve Date" refuses a date before the history
 * start minus the dependency reach, or more than hindsight:maxBackfillDays back, unless the input says
 * `"extendHistory": true`; the date derived from `scheduledTime` is checked like any other. A refused
 * date is not recorded as due. (The CLI checks `run`'s dates the same way, naming the flag typed:
 * test/integration/cli.test.ts.)
 */
import { InvalidInputError } from '../../lambdas/engine/errors';
import { LeaseService } from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import { readDueRange, recordDueDate } from '../../lambdas/ledger/due-dates';
import { resolveDate } from '../../lambdas/workflow/resolve-date';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { computePlan, type StepDependencies } from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds, resetDatabase } from '../support/databases';
import { MemoryLeaseStore } from '../support/memory-lease-store';

/** Today is 2026-11-24: a daily run without a date is for 2026-11-23. The meters' reach is 6 days (trend). */
const NOW = new Date('2026-11-24T02:00:00Z');

describe('Function: resolveDate (the daily date is bounded)', () => {
  let sql: SqlClient;
  let deps: StepDependencies;

  beforeAll(async () => {
    sql = await databaseKinds()[0].open();
  });
  afterAll(() => sql.close());
  beforeEach(async () => {
    await resetDatabase(sql);
    deps = {
      sql,
      pipeline,
      params: { rowsPerDay: '20' },
      leases: new LeaseService(new MemoryLeaseStore(), { isRunning: async () => false }),
      transitions: [],
      maxBackfillDays: 3660,
      now: () => NOW,
    };
  });

  /** The ledger starts on `date`: its first stage ran there. */
  const historyStartsOn = (date: string) =>
    runStage(sql, pipeline, { stage: 'collect', date, fenceToken: 1 }, deps.params);

  async function refusal(raw: unknown): Promise<InvalidInputError> {
    const error = await resolveDate(deps, raw).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof InvalidInputError)) throw new Error(`Not refused: ${JSON.stringify(raw)}`);
    return error;
  }

  it('refuses {"date": "2016-11-23"} once history starts in 2026: nothing is due, no plan of 3,660 dates', async () => {
    await historyStartsOn('2026-11-01');

    const error = await refusal({ date: '2016-11-23' });

    expect(error.message).toBe(
      'Invalid date: got "2016-11-23"; expected a date from 2026-10-26 on: history starts on 2026-11-01, ' +
        'and a daily run reads at most 6 days before its date (the longest chain of lookbacks). ' +
        'To run an earlier date on purpose, add "extendHistory": true ' +
        '(every auto backfill then covers the dates from it on).',
    );
    expect(await readDueRange(sql)).toBeNull();
    const { plan } = await computePlan(deps, { mode: 'auto' });
    expect(plan.from).toBe('2026-11-01');
  });

  it('accepts a date down to the history start minus the dependency reach, and not one day earlier', async () => {
    await historyStartsOn('2026-11-01');
    await expect(resolveDate(deps, { date: '2026-10-26' })).resolves.toEqual({ date: '2026-10-26' });
    // History now starts on the due date 2026-10-26: the bound moved with it.
    await expect(resolveDate(deps, { date: '2026-10-20' })).resolves.toEqual({ date: '2026-10-20' });
    const error = await refusal({ date: '2026-10-13' });
    expect(error.message).toContain('expected a date from 2026-10-14 on: history starts on 2026-10-20');
    expect(await readDueRange(sql)).toEqual({ from: '2026-10-20', to: '2026-10-26' });
  });

  it('counts a date recorded as due as history, even when its run wrote nothing', async () => {
    await historyStartsOn('2026-11-01');
    await recordDueDate(sql, '2026-10-10');
    await expect(resolveDate(deps, { date: '2026-10-04' })).resolves.toEqual({ date: '2026-10-04' });
    expect((await refusal({ date: '2026-09-27' })).message).toContain(
      'expected a date from 2026-09-28 on: history starts on 2026-10-04',
    );
  });

  it('without any history, refuses a date more than hindsight:maxBackfillDays back', async () => {
    deps = { ...deps, maxBackfillDays: 30 };
    await expect(resolveDate(deps, { date: '2026-10-25' })).resolves.toEqual({ date: '2026-10-25' });
    await resetDatabase(sql);

    const error = await refusal({ date: '2026-10-24' });

    expect(error.message).toBe(
      'Invalid date: got "2026-10-24"; expected a date from 2026-10-25 on: at most 30 days back ' +
        '(hindsight:maxBackfillDays), the most one backfill covers. ' +
        'To run an earlier date on purpose, add "extendHistory": true ' +
        '(every auto backfill then covers the dates from it on).',
    );
    expect(await readDueRange(sql)).toBeNull();
  });

  it('runs an earlier date when the input says "extendHistory": true, and records it as due', async () => {
    await historyStartsOn('2026-11-01');
    await expect(resolveDate(deps, { date: '2016-11-23', extendHistory: true })).resolves.toEqual({
      date: '2016-11-23',
    });
    expect(await readDueRange(sql)).toEqual({ from: '2016-11-23', to: '2016-11-23' });
    // false is the default, and says nothing.
    expect((await refusal({ date: '2016-11-01', extendHistory: false })).problems[0].field).toBe('date');
  });

  it('checks the date derived from scheduledTime like any other, naming scheduledTime', async () => {
    await historyStartsOn('2026-11-01');
    await expect(resolveDate(deps, { scheduledTime: '2026-11-24T02:00:00Z' })).resolves.toEqual({
      date: '2026-11-23',
    });

    const old = await refusal({ scheduledTime: '2016-11-24T02:00:00Z' });
    expect(old.message).toContain(
      'Invalid scheduledTime: got "2016-11-24T02:00:00Z"; expected an instant whose day before, the date of ' +
        'the run, is a date from 2026-10-26 on: history starts on 2026-11-01',
    );
    for (const input of [
      { scheduledTime: '1900-01-01T02:00:00Z' },
      { scheduledTime: '1900-01-01T02:00:00Z', extendHistory: true },
      { scheduledTime: '0001-01-01T00:00:00Z', extendHistory: true },
    ]) {
      const { scheduledTime } = input;
      const error = await refusal(input);
      expect(error.message).toBe(
        `Invalid scheduledTime: got "${scheduledTime}"; expected an instant whose day before, the date of ` +
          'the run, is a date in 1900 or later (YYYY-MM-DD): Hindsight takes no earlier dates.',
      );
    }
    await expect(
      resolveDate(deps, { scheduledTime: '2016-11-24T02:00:00Z', extendHistory: true }),
    ).resolves.toEqual({ date: '2016-11-23' });
    expect(await readDueRange(sql)).toEqual({ from: '2016-11-23', to: '2026-11-23' });
  });
});
