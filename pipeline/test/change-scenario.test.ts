/**
 * A code change to the orders example, end to end through the synthesized workflows and PGlite:
 * transform v2 (pipeline/test/fixtures/stages-transform-v2.ts) also drops orders under 5 EUR.
 * After it, `backfill {"mode": "auto"}` reruns every date from transform and leaves every table
 * the stages own exactly as a from-scratch run of the new code; a second one finds nothing to do.
 */
import { join } from 'node:path';
import { dateRange } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { PipelineParams } from '../../lambdas/engine/stage';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { dumpTables } from '../../test/support/databases';
import {
  backfillOutput,
  type LocalSession,
  type LocalStore,
  localStoreKinds,
  plannedDates,
  withLocalSession,
} from '../../test/support/local-stores';
import { testWorkflowDefinitions } from '../../test/support/test-definitions';
import { pipeline as v1 } from '../index';
import { pipeline as v2 } from './fixtures/stages-transform-v2';

const EXAMPLE_MIGRATIONS = join(__dirname, '..', 'migrations');
const DATES = dateRange('2026-02-01', '2026-02-10');
const params: PipelineParams = { rowsPerDay: '200' };
const OWNED_TABLES = v1.stages.flatMap((stage) => stage.owns);
const kinds = localStoreKinds(EXAMPLE_MIGRATIONS);
const kind = kinds[0]; // PGlite

describe('The orders example after a change to transform', () => {
  let definitions: WorkflowDefinitions;
  const withSession = <T>(store: LocalStore, code: Pipeline, work: (session: LocalSession) => Promise<T>) =>
    withLocalSession(store, code, params, definitions, work, { migrationsDirectory: EXAMPLE_MIGRATIONS });
  const dumpOwned = (session: LocalSession) => dumpTables(session.services.deps.sql, OWNED_TABLES);

  let history: LocalStore;
  let before: Record<string, unknown[]>;
  let reference: Record<string, unknown[]>;

  beforeAll(async () => {
    // v1 and v2 have the same stage names and lookbacks: one synthesis serves both.
    definitions = testWorkflowDefinitions('example-change-scenario', v1);
    history = await kind.fresh();
    before = await withSession(history, v1, async (session) => {
      await session.daily(DATES);
      return dumpOwned(session);
    });
    reference = await withSession(await kind.fresh(), v2, async (session) => {
      await session.daily(DATES);
      return dumpOwned(session);
    });
  });
  afterAll(() => Promise.all(kinds.map((k) => k.dispose())));

  it('reruns every date from transform, and leaves every owned table equal to a from-scratch run of v2', async () => {
    await withSession(await kind.copy(history), v2, async (session) => {
      const sql = session.services.deps.sql;
      const kept = (await readLedger(sql)).filter((row) => row.stage === 'ingest');
      const runsBefore = (await readHistory(sql)).length;
      expect(runsBefore).toBe(DATES.length * v1.stages.length);

      const execution = session.workflows.start('backfill', { mode: 'auto' });
      const plan = backfillOutput(await execution.done);

      expect(await plannedDates(sql, execution.executionId)).toEqual(
        DATES.map((date) => [date, 'transform']),
      );
      expect(plan.totals).toEqual({
        dates: DATES.length,
        stageRuns: DATES.length * 4,
        fullRerunStageRuns: DATES.length * 5,
      });
      expect((await readHistory(sql)).length - runsBefore).toBe(DATES.length * 4);
      // ingest did not rerun: its outputs are the ones the daily runs wrote.
      expect((await readLedger(sql)).filter((row) => row.stage === 'ingest')).toEqual(kept);

      const after = await dumpOwned(session);
      expect(after).not.toEqual(before); // the change is real: orders under 5 EUR are gone
      expect(after.clean_orders.length).toBeLessThan(before.clean_orders.length);
      expect(after).toEqual(reference);

      // A second auto backfill plans nothing and changes nothing.
      const again = backfillOutput(await session.workflows.start('backfill', { mode: 'auto' }).done);
      expect(again.totals.dates).toBe(0);
      expect(await dumpOwned(session)).toEqual(reference);
    });
  });
});
