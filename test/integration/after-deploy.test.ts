import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { StepFunctionsBackfillStarter } from '../../lambdas/adapters/sfn-backfill-starter';
import { LeaseService } from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import { recordDueDate } from '../../lambdas/ledger/due-dates';
import { frameworkMigrationsDirectory, loadMigrations } from '../../lambdas/ledger/migrator';
import {
  afterDeploy,
  type BackfillStarter,
  backfillExecutionName,
} from '../../lambdas/workflow/after-deploy';
import { runStage } from '../../lambdas/workflow/stage-runner';
import type { StepDependencies } from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds } from '../support/databases';
import { METERS } from '../support/fixture-pipelines';
import { MemoryLeaseStore } from '../support/memory-lease-store';

const BACKFILL_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:HindsightBackfill';

/** Both sequences, as the after-deploy Lambda loads them: Hindsight's own, then the pipeline's. */
const migrations = () => ({
  framework: loadMigrations(frameworkMigrationsDirectory()),
  pipeline: loadMigrations(METERS.migrationsDirectory),
});

function recordingStarter(): BackfillStarter & { names: string[] } {
  const names: string[] = [];
  return {
    names,
    startAuto: async (name) => {
      names.push(name);
      return {
        executionArn: `${BACKFILL_ARN}:${name}`,
        alreadyStarted: names.indexOf(name) !== names.length - 1,
      };
    },
  };
}

describe('Function: afterDeploy', () => {
  const kind = databaseKinds()[0];
  let sql: SqlClient;
  let deps: StepDependencies;

  beforeEach(async () => {
    sql = await kind.open({ migrated: false });
    deps = {
      sql,
      pipeline,
      params: { rowsPerDay: '50' },
      leases: new LeaseService(new MemoryLeaseStore(), { isRunning: async () => false }),
      transitions: [],
      maxBackfillDays: 3660,
      now: () => new Date('2026-11-24T02:00:00Z'),
    };
  });
  afterEach(() => sql.close());

  it('applies the migrations, and starts no backfill when nothing is stale', async () => {
    const starter = recordingStarter();
    const result = await afterDeploy(deps, migrations(), starter, {
      deploymentId: 'abc',
      autoBackfill: true,
    });
    expect(result.migrationsApplied).toEqual([
      ...migrations().framework.map(({ id }) => `hindsight/${id}`),
      ...migrations().pipeline.map(({ id }) => id),
    ]);
    expect(result.migrationsApplied).toEqual([
      'hindsight/0001_ledger',
      'hindsight/0002_backfill_plans',
      'hindsight/0003_due_dates',
      'hindsight/0004_planned_stages',
      '0001_meters',
    ]);
    expect(result.summary).toContain('Nothing to do');
    expect(result.backfill).toBeNull();
    expect(starter.names).toEqual([]);
  });

  it('starts the auto backfill under the deployment’s name, once even when the deploy is retried', async () => {
    await afterDeploy(deps, migrations(), recordingStarter(), {
      deploymentId: 'x',
      autoBackfill: false,
    });
    // One date with only collect done: the plan has work.
    await runStage(sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: 1 }, deps.params);
    const starter = recordingStarter();
    const request = { deploymentId: '0123abcd', autoBackfill: true };
    const first = await afterDeploy(deps, migrations(), starter, request);
    const retried = await afterDeploy(deps, migrations(), starter, request);

    expect(first.plannedDates).toBe(1);
    expect(first.summary).toContain('from validate');
    expect(starter.names).toEqual(['deploy-0123abcd', 'deploy-0123abcd']);
    expect(first.backfill).toEqual({
      executionArn: `${BACKFILL_ARN}:deploy-0123abcd`,
      alreadyStarted: false,
    });
    expect(retried.backfill?.alreadyStarted).toBe(true);
    expect(retried.migrationsApplied).toEqual([]);
  });

  it('reports a plan over hindsight:maxBackfillDays instead of failing the deploy, and starts nothing', async () => {
    await afterDeploy(deps, migrations(), recordingStarter(), { deploymentId: 'x', autoBackfill: false });
    // A daily run recorded 2015-06-01 as due (before daily dates were bounded); history is otherwise recent.
    await recordDueDate(sql, '2015-06-01');
    await runStage(sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: 1 }, deps.params);
    const starter = recordingStarter();

    const result = await afterDeploy(deps, migrations(), starter, { deploymentId: 'y', autoBackfill: true });

    expect(result.planRefused).toContain(
      'auto mode reruns dates from 2015-06-01 to 2026-11-20 (4191 days), more than the maximum of 3660 days',
    );
    expect(result.plannedDates).toBe(0);
    expect(result.backfill).toBeNull();
    expect(result.summary).toContain('No backfill was planned');
    expect(starter.names).toEqual([]);
  });

  it('plans and logs but starts nothing when the automatic backfill is off', async () => {
    await afterDeploy(deps, migrations(), recordingStarter(), {
      deploymentId: 'x',
      autoBackfill: false,
    });
    await runStage(sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: 1 }, deps.params);
    const starter = recordingStarter();
    const result = await afterDeploy(deps, migrations(), starter, {
      deploymentId: 'x',
      autoBackfill: false,
    });
    expect(result.plannedDates).toBe(1);
    expect(result.backfill).toBeNull();
    expect(starter.names).toEqual([]);
  });
});

describe('Class: StepFunctionsBackfillStarter', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());

  it('starts {"mode":"auto"} under the given name', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${BACKFILL_ARN}:deploy-1`, startDate: new Date() });
    const result = await new StepFunctionsBackfillStarter(new SFNClient({}), BACKFILL_ARN).startAuto(
      'deploy-1',
    );
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input).toEqual({
      stateMachineArn: BACKFILL_ARN,
      name: 'deploy-1',
      input: '{"mode":"auto"}',
    });
    expect(result).toEqual({ executionArn: `${BACKFILL_ARN}:deploy-1`, alreadyStarted: false });
  });

  it('treats an existing execution of that name as already started', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const result = await new StepFunctionsBackfillStarter(new SFNClient({}), BACKFILL_ARN).startAuto(
      'deploy-1',
    );
    expect(result).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:HindsightBackfill:deploy-1',
      alreadyStarted: true,
    });
  });

  it('fails on any other error, such as access denied', async () => {
    sfn.on(StartExecutionCommand).rejects(new Error('AccessDeniedException: not authorized'));
    await expect(
      new StepFunctionsBackfillStarter(new SFNClient({}), BACKFILL_ARN).startAuto('x'),
    ).rejects.toThrow('not authorized');
  });

  it('names executions within Step Functions limits', () => {
    expect(backfillExecutionName('ab:c/d')).toBe('deploy-ab-c-d');
    expect(backfillExecutionName('x'.repeat(200))).toHaveLength(80);
  });
});
