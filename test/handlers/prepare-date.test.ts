import './lambda-environment';
import { createPrepareDateHandler } from '../../lambdas/handlers/prepare-date';
import { saveBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import { EarlierDateNotDoneError } from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  BACKFILL_EXECUTION,
  lambdaContext,
  observerWithClock,
  testDependencies,
  useHandlerTestBed,
} from './support';

describe('Handler: prepare-date', () => {
  const bed = useHandlerTestBed();

  it('logs the prepared date with the stages it reruns, the start stage, version and execution, and counts one DatesBackfilled', async () => {
    // Prepare
    const prepare = createPrepareDateHandler(testDependencies(bed.sql, pipeline), observerWithClock(0, 12));

    await saveBackfillPlan(bed.sql, BACKFILL_EXECUTION, [
      { date: '2026-02-10', startStage: 'validate', stages: ['validate', 'summarize', 'trend', 'report'] },
    ]);

    // Act
    const prepared = await prepare(
      {
        position: 0,
        executionId: BACKFILL_EXECUTION,
        token: 1,
      },
      lambdaContext('PrepareDate'),
    );

    // Assess
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Prepared 2026-02-10: it reruns validate, summarize, trend, report',
        handler: 'prepare-date',
        date: '2026-02-10',
        stage: 'validate',
        stages: ['validate', 'summarize', 'trend', 'report'],
        version: pipeline.stage('validate').version,
        executionId: BACKFILL_EXECUTION,
        token: prepared.token,
        durationMs: 12,
      }),
    ]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        namespace: 'Hindsight',
        dimensions: [['service']],
        metrics: { DatesBackfilled: { value: 1, unit: 'Count' } },
      }),
    ]);
  });

  it('fails with EarlierDateNotDoneError unchanged when the previous date is not done, and counts nothing', async () => {
    // Prepare
    const prepare = createPrepareDateHandler(testDependencies(bed.sql, pipeline), observerWithClock(0, 3));

    await saveBackfillPlan(bed.sql, BACKFILL_EXECUTION, [
      { date: '2026-02-10', startStage: 'validate', stages: ['validate', 'summarize', 'trend', 'report'] },
      {
        date: '2026-02-11',
        startStage: 'collect',
        stages: ['collect', 'validate', 'summarize', 'trend', 'report'],
      },
    ]);

    // Act
    const failure = prepare(
      {
        position: 1,
        executionId: BACKFILL_EXECUTION,
        token: 1,
      },
      lambdaContext('PrepareDate'),
    );

    // Assess
    await expect(failure).rejects.toBeInstanceOf(EarlierDateNotDoneError);
    await expect(failure).rejects.toMatchObject({ name: 'EarlierDateNotDoneError' });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'prepare-date failed with EarlierDateNotDoneError',
        position: 1,
        executionId: BACKFILL_EXECUTION,
        error: expect.objectContaining({ name: 'EarlierDateNotDoneError' }),
      }),
    ]);
    expect(bed.output.emf()).toEqual([]);
  });
});
