/**
 * A backfill's plan lives in the database, under its execution id, and the Distributed Map
 * iterates over positions only: a ten-year backfill keeps every state far under Step Functions'
 * 256 KiB limit on a state's data, on PGlite and on PostgreSQL.
 */
import { addDays } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { SqlClient } from '../../lambdas/engine/sql';
import { readBackfillPlan, saveBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import {
  EarlierDateNotDoneError,
  PlannedDateNotFoundError,
  prepareDate,
  validateAndPlan,
} from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import { testDependencies } from '../handlers/support';
import { databaseKinds, resetDatabase } from '../support/databases';

/** Step Functions refuses state data larger than this. */
const STATE_LIMIT_BYTES = 256 * 1024;
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:HindsightBackfill:ten-years';
const NOW = new Date('2026-12-01T09:00:00Z');
const TEN_YEARS = { from: '2016-11-30', to: '2026-11-30', startStage: 'collect' } as const; // 3,653 days

describe.each(databaseKinds())('Stored backfill plans on $name', (kind) => {
  let sql: SqlClient;
  const deps = () => testDependencies(sql, pipeline, { now: NOW });

  beforeAll(async () => {
    sql = await kind.open();
  });
  afterAll(() => sql?.close());
  beforeEach(() => resetDatabase(sql));

  it('plans ten years into a state of a few KiB, the dates stored in order under the execution', async () => {
    // Act
    const result = await validateAndPlan(deps(), { request: TEN_YEARS, executionId: EXECUTION });

    // Assess
    const size = Buffer.byteLength(JSON.stringify(result));
    expect(size).toBeLessThan(STATE_LIMIT_BYTES / 8);
    expect(result).toMatchObject({
      dryRun: false,
      firstDate: TEN_YEARS.from,
      lastDate: TEN_YEARS.to,
      totals: { dates: 3653, stageRuns: 3653 * 5 },
    });
    expect(result.positions).toEqual([...Array(3653).keys()]);
    const stored = await readBackfillPlan(sql, EXECUTION);
    expect(stored).toHaveLength(3653);
    stored.forEach((planned, position) => {
      expect(planned).toEqual({
        position,
        date: addDays(TEN_YEARS.from, position),
        startStage: 'collect',
        stages: pipeline.names,
      });
    });
    console.log(`Validate And Plan output for 3,653 dates: ${size} bytes (limit ${STATE_LIMIT_BYTES}).`);
  });

  it('replaces its stored plan when Validate And Plan runs again for the same execution', async () => {
    // Prepare
    await validateAndPlan(deps(), { request: TEN_YEARS, executionId: EXECUTION });

    // Act: a Lambda retry, with a narrower range for the sake of the check
    const request = { from: '2026-11-01', to: '2026-11-30', startStage: 'collect' };
    await validateAndPlan(deps(), { request, executionId: EXECUTION });

    // Assess
    const stored = await readBackfillPlan(sql, EXECUTION);
    expect(stored.map((planned) => planned.date)).toEqual(
      [...Array(30).keys()].map((day) => addDays('2026-11-01', day)),
    );
  });

  it('stores nothing for a dry run or an empty plan', async () => {
    // Act
    const dryRun = await validateAndPlan(deps(), {
      request: { ...TEN_YEARS, dryRun: true },
      executionId: EXECUTION,
    });
    const empty = await validateAndPlan(deps(), { request: { mode: 'auto' }, executionId: EXECUTION });

    // Assess
    expect(dryRun).toMatchObject({ dryRun: true, positions: [], totals: { dates: 3653 } });
    expect(empty).toMatchObject({ positions: [], firstDate: null, totals: { dates: 0 } });
    expect(await readBackfillPlan(sql, EXECUTION)).toEqual([]);
  });

  it('refuses a bad console input with its own field names, storing nothing', async () => {
    // Act
    const refused = validateAndPlan(deps(), {
      request: { ...TEN_YEARS, to: '2026-02-30' },
      executionId: EXECUTION,
    });

    // Assess
    await expect(refused).rejects.toThrow(InvalidInputError);
    await expect(refused).rejects.toThrow('Invalid to: got "2026-02-30"');
    expect(await readBackfillPlan(sql, EXECUTION)).toEqual([]);
  });

  it('prepares each position from the stored plan, and refuses one whose predecessor is not done', async () => {
    // Prepare
    await saveBackfillPlan(sql, EXECUTION, [
      {
        date: '2026-11-28',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
      {
        date: '2026-11-29',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
    ]);

    // Act
    const first = await prepareDate(deps(), { position: 0, executionId: EXECUTION, token: 1 });
    const second = prepareDate(deps(), { position: 1, executionId: EXECUTION, token: 1 });

    // Assess
    expect(first).toMatchObject({
      date: '2026-11-28',
      startStage: 'collect',
      stages: pipeline.names,
      runs: Object.fromEntries(pipeline.names.map((stage) => [stage, true])),
      transitionsApplied: [],
    });
    await expect(second).rejects.toThrow(EarlierDateNotDoneError);
    await expect(second).rejects.toThrow('the planned date before it, 2026-11-28, is not done');
  });

  it('lets an item that outlived its failed backfill take back no lease: the predecessor check comes first', async () => {
    // Prepare: the backfill failed on its first date, and the failure released the lease
    await saveBackfillPlan(sql, EXECUTION, [
      {
        date: '2026-11-28',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
      {
        date: '2026-11-29',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
    ]);
    const dependencies = deps();
    await prepareDate(dependencies, { position: 0, executionId: EXECUTION, token: 1 });
    await dependencies.leases.release(EXECUTION);

    // Act: the next item, queued behind the failed one, starts anyway
    const straggler = prepareDate(dependencies, { position: 1, executionId: EXECUTION, token: 1 });

    // Assess
    await expect(straggler).rejects.toThrow(EarlierDateNotDoneError);
    expect(
      await dependencies.leases.acquire('daily', 'arn:aws:states:eu-west-1:1:execution:d:x', 0),
    ).toMatchObject({ outcome: 'acquired' });
  });

  it('refuses a position the execution never planned, taking no lease', async () => {
    // Prepare
    await saveBackfillPlan(sql, EXECUTION, [
      {
        date: '2026-11-28',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
    ]);
    const dependencies = deps();

    // Act
    const other = prepareDate(dependencies, { position: 0, executionId: `${EXECUTION}-other`, token: 1 });
    const beyond = prepareDate(dependencies, { position: 5, executionId: EXECUTION, token: 1 });

    // Assess
    await expect(other).rejects.toThrow(PlannedDateNotFoundError);
    await expect(beyond).rejects.toThrow(`Backfill ${EXECUTION} has no planned date at position 5`);
    expect(
      await dependencies.leases.acquire('daily', 'arn:aws:states:eu-west-1:1:execution:d:x', 0),
    ).toMatchObject({
      outcome: 'acquired',
      token: 1,
    });
  });
});
