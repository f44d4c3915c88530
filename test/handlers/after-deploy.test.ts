import './lambda-environment';
import { createAfterDeployHandler } from '../../lambdas/handlers/after-deploy';
import { recordDueDate } from '../../lambdas/ledger/due-dates';
import { frameworkMigrationsDirectory } from '../../lambdas/ledger/migrator';
import type { BackfillStarter } from '../../lambdas/workflow/after-deploy';
import { runStage } from '../../lambdas/workflow/stage-runner';
import { pipeline } from '../fixtures/pipelines/meters';
import { resetDatabase } from '../support/databases';
import { METERS } from '../support/fixture-pipelines';
import { lambdaContext, observerWithClock, testDependencies, useHandlerTestBed } from './support';

const NOW = new Date('2026-11-24T02:00:00Z');
const MIGRATIONS = { framework: frameworkMigrationsDirectory(), pipeline: METERS.migrationsDirectory };

function starter(): BackfillStarter & { started: string[] } {
  const started: string[] = [];
  return {
    started,
    startAuto: async (name) => {
      started.push(name);
      return {
        executionArn: `arn:aws:states:eu-west-1:123456789012:execution:HindsightBackfill:${name}`,
        alreadyStarted: false,
      };
    },
  };
}

describe('Handler: after-deploy', () => {
  const bed = useHandlerTestBed();
  beforeEach(() => resetDatabase(bed.sql));

  it('reports a refused plan (an error line, AfterDeployPlanRefused 1) and succeeds, so the deploy goes ahead', async () => {
    // Prepare: a date recorded as due in 2015, and history otherwise in 2026: the auto plan spans 11 years.
    const deps = testDependencies(bed.sql, pipeline, { now: NOW });
    await recordDueDate(bed.sql, '2015-06-01');
    await runStage(bed.sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: 1 }, deps.params);
    const backfills = starter();
    const handler = createAfterDeployHandler(
      deps,
      MIGRATIONS,
      backfills,
      { deploymentId: 'abc', autoBackfill: true },
      observerWithClock(0, 7),
    );

    // Act
    const result = await handler({}, lambdaContext('AfterDeploy'));

    // Assess
    expect(result).toMatchObject({ plannedDates: 0, backfill: null });
    expect(result.planRefused).toContain('more than the maximum of 3660 days one backfill covers');
    expect(backfills.started).toEqual([]);
    expect(bed.output.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: expect.stringContaining(
          'The automatic backfill was not started: its plan was refused. The deploy went ahead.',
        ),
        handler: 'after-deploy',
        deploymentId: 'abc',
        planRefused: result.planRefused,
        plannedDates: 0,
      }),
    ]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({
        namespace: 'Hindsight',
        metrics: { AfterDeployPlanRefused: { value: 1, unit: 'Count' } },
      }),
    ]);
  });

  it('measures AfterDeployPlanRefused 0 when the plan was made', async () => {
    const deps = testDependencies(bed.sql, pipeline, { now: NOW });
    await runStage(bed.sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: 1 }, deps.params);
    const backfills = starter();
    const handler = createAfterDeployHandler(
      deps,
      MIGRATIONS,
      backfills,
      { deploymentId: 'abc', autoBackfill: true },
      observerWithClock(0, 7),
    );

    const result = await handler({}, lambdaContext('AfterDeploy'));

    expect(result).toMatchObject({ plannedDates: 1, planRefused: null });
    expect(backfills.started).toEqual(['deploy-abc']);
    expect(bed.output.logs()).toEqual([expect.objectContaining({ level: 'INFO', plannedDates: 1 })]);
    expect(bed.output.emf()).toEqual([
      expect.objectContaining({ metrics: { AfterDeployPlanRefused: { value: 0, unit: 'Count' } } }),
    ]);
  });
});
