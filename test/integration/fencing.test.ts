import { StaleFenceTokenError } from '../../lambdas/engine/errors';
import { LeaseService } from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import { handleLease } from '../../lambdas/workflow/lease-steps';
import { runStage } from '../../lambdas/workflow/stage-runner';
import type { StepDependencies } from '../../lambdas/workflow/steps';
import { pipeline } from '../fixtures/pipelines/meters';
import { databaseKinds, dumpTables } from '../support/databases';
import { MemoryLeaseStore } from '../support/memory-lease-store';

const tables = [
  ...pipeline.stages.flatMap((stage) => stage.owns),
  'hindsight_stage_state',
  'hindsight_run_history',
];

describe.each(databaseKinds())('Fencing on $name', (kind) => {
  let sql: SqlClient;
  beforeAll(async () => {
    sql = await kind.open();
  });
  afterAll(() => sql.close());

  it('refuses the late commit of a holder whose expired lease was taken over, leaving no rows', async () => {
    // Prepare: A holds the lease; it expires while A stalls; B takes it over.
    let now = Date.parse('2026-11-24T02:00:00Z');
    const deps: StepDependencies = {
      sql,
      pipeline,
      params: { rowsPerDay: '50' },
      leases: new LeaseService(
        new MemoryLeaseStore(),
        { isRunning: async () => true },
        { durationMs: 60_000 },
      ),
      transitions: [],
      maxBackfillDays: 3660,
      now: () => new Date(now),
    };
    const a = await handleLease(deps, { action: 'acquire', kind: 'daily', executionId: 'exec-a' });
    now += 61_000;
    const b = await handleLease(deps, { action: 'acquire', kind: 'backfill', executionId: 'exec-b' });
    if (!('token' in a) || !('token' in b)) throw new Error('both acquires should grant a lease');
    expect(b.token).toBeGreaterThan(a.token);
    const before = await dumpTables(sql, tables);

    // Act: A wakes up and tries to commit a stage with its old token
    const late = runStage(
      sql,
      pipeline,
      { stage: 'collect', date: '2026-11-20', fenceToken: a.token },
      deps.params,
    );

    // Assess
    await expect(late).rejects.toThrow(StaleFenceTokenError);
    expect(await dumpTables(sql, tables)).toEqual(before);
    await expect(
      runStage(sql, pipeline, { stage: 'collect', date: '2026-11-20', fenceToken: b.token }, deps.params),
    ).resolves.toMatchObject({ stage: 'collect' });
  });
});
