import './lambda-environment';
import { StageFailedError } from '../../lambdas/engine/errors';
import { definePipeline } from '../../lambdas/engine/pipeline';
import { defineStage } from '../../lambdas/engine/stage';
import { createStageHandler } from '../../lambdas/handlers/stage';
import { pipeline } from '../fixtures/pipelines/meters';
import {
  DAILY_EXECUTION,
  dailyLeaseStore,
  lambdaContext,
  observerWithClock,
  testDependencies,
  useHandlerTestBed,
} from './support';

describe('Handler: stage', () => {
  const bed = useHandlerTestBed();

  it('logs one info line with date, stage, version, runId and executionId, and emits RowsWritten and StageDurationMs by Stage', async () => {
    // Prepare
    const handler = createStageHandler(
      testDependencies(bed.sql, pipeline, { store: dailyLeaseStore() }),
      'collect',
      observerWithClock(1000, 1250),
    );

    // Act
    const result = await handler(
      { date: '2026-03-01', token: 1, executionId: DAILY_EXECUTION },
      lambdaContext('CollectStage'),
    );

    // Assess
    // collect writes one row per reading, rowsPerDay of them (testDependencies passes '20').
    expect(result.rowsWritten).toBe(20);
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        service: 'hindsight',
        message: `Stage collect v1 wrote ${result.rowsWritten} rows for 2026-03-01`,
        handler: 'stage',
        date: '2026-03-01',
        stage: 'collect',
        version: 1,
        runId: result.runId,
        executionId: DAILY_EXECUTION,
        rowsWritten: result.rowsWritten,
        durationMs: 250,
        function_name: 'CollectStage',
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
      }),
    ]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        namespace: 'Hindsight',
        dimensions: [['service', 'Stage']],
        metrics: {
          RowsWritten: { value: result.rowsWritten, unit: 'Count' },
          StageDurationMs: { value: 250, unit: 'Milliseconds' },
        },
      }),
    ]);
    expect(bed.output.emf()[0]?.line).toMatchObject({ service: 'hindsight', Stage: 'collect' });
  });

  it('fails with the stage error unchanged, after one error line naming it, and emits no metrics', async () => {
    // Prepare
    const broken = definePipeline([
      defineStage({
        ...pipeline.stage('collect'),
        run: async () => {
          throw new Error('the source export is not there yet');
        },
      }),
    ]);
    const handler = createStageHandler(
      testDependencies(bed.sql, broken, { store: dailyLeaseStore() }),
      'collect',
      observerWithClock(0, 40),
    );

    // Act
    const failure = handler(
      { date: '2026-03-01', token: 1, executionId: DAILY_EXECUTION },
      lambdaContext('CollectStage'),
    );

    // Assess
    await expect(failure).rejects.toBeInstanceOf(StageFailedError);
    await expect(failure).rejects.toMatchObject({ name: 'StageFailedError' });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'stage failed with StageFailedError',
        date: '2026-03-01',
        stage: 'collect',
        version: 1,
        executionId: DAILY_EXECUTION,
        durationMs: 40,
        error: expect.objectContaining({
          name: 'StageFailedError',
          message: 'Stage collect failed for 2026-03-01: the source export is not there yet',
        }),
      }),
    ]);
    expect(bed.output.logs()[0]).not.toHaveProperty('runId');
    expect(bed.output.emf()).toEqual([]);
  });

  it('fails on an invalid payload with the InvalidInputError, logging what it could read of the event', async () => {
    // Prepare
    const handler = createStageHandler(
      testDependencies(bed.sql, pipeline, { store: dailyLeaseStore() }),
      'collect',
      observerWithClock(0, 1),
    );

    // Act
    const failure = handler(
      { date: '2026-02-30', token: 1, executionId: DAILY_EXECUTION },
      lambdaContext('CollectStage'),
    );

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'InvalidInputError' });
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        date: '2026-02-30',
        executionId: DAILY_EXECUTION,
        error: expect.objectContaining({ name: 'InvalidInputError' }),
      }),
    ]);
  });
});
