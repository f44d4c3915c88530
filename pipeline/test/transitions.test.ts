/**
 * The example transitions (pipeline/transitions/examples/), in a backfill after transform v2
 * (pipeline/test/fixtures/transform-v2-with-transitions.ts) stops marking raw deliveries and stops
 * owning `rejected_orders`: the two transitions clean up what v1 left, once per rerun date, before
 * the date reruns, so the past looks as if v2 had always run. In-process, on PGlite.
 */
import { join } from 'node:path';
import { dateRange } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { PipelineParams } from '../../lambdas/engine/stage';
import type { Transition } from '../../lambdas/engine/transition';
import { readHistory } from '../../lambdas/ledger/ledger-store';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import type { LocalServices } from '../../local/local-services';
import type { ExecutionOutcome } from '../../local/local-workflows';
import { dumpTables } from '../../test/support/databases';
import {
  type LocalSession,
  type LocalStore,
  localStoreKinds,
  openLocalSession,
  withLocalSession,
} from '../../test/support/local-stores';
import { testWorkflowDefinitions } from '../../test/support/test-definitions';
import { pipeline as v1 } from '../index';
import { transitions as exampleTransitions, pipeline as v2 } from './fixtures/transform-v2-with-transitions';

const EXAMPLE_MIGRATIONS = join(__dirname, '..', 'migrations');
const DATES = dateRange('2026-03-01', '2026-03-08');
const params: PipelineParams = { rowsPerDay: '150' };
const ownedTables = [...new Set([...v1.stages, ...v2.stages].flatMap((stage) => stage.owns))];
/** What v1 leaves behind that v2 would not write: the marks on raw rows and the rejected rows. */
const LEFT_BY_V1 = `SELECT (SELECT count(*) FROM raw_orders WHERE rejected_reason IS NOT NULL)
                         + (SELECT count(*) FROM rejected_orders) AS n`;
const kinds = localStoreKinds(EXAMPLE_MIGRATIONS);
const kind = kinds[0]; // PGlite

async function succeeded(outcome: Promise<ExecutionOutcome>): Promise<void> {
  const result = await outcome;
  if (result.status !== 'SUCCEEDED') throw new Error(`execution ended ${JSON.stringify(result)}`);
}

async function appliedRows(services: LocalServices) {
  const { rows } = await services.deps.sql.query<{ transition_id: string; day: string; applied_at: string }>(
    'SELECT transition_id, day, applied_at FROM hindsight_transitions_applied ORDER BY day, transition_id',
  );
  return rows;
}

async function leftByV1(session: LocalSession): Promise<number> {
  const { rows } = await session.services.deps.sql.query<{ n: number }>(LEFT_BY_V1);
  return Number(rows[0].n);
}

describe('The example transitions in a backfill', () => {
  let definitions: WorkflowDefinitions;
  /** What v2 gives when it runs every date from scratch (with the example's tables, all of them). */
  let reference: Record<string, unknown[]>;
  /** v1 ran the daily workflow for every date: each test starts from a copy. */
  let historyWithV1: LocalStore;

  const open = (store: LocalStore, pipeline: Pipeline, transitions: readonly Transition[] = []) =>
    openLocalSession(store, pipeline, params, definitions, {
      migrationsDirectory: EXAMPLE_MIGRATIONS,
      transitions,
    });

  beforeAll(async () => {
    definitions = testWorkflowDefinitions('example-transitions', v2, exampleTransitions);
    const options = { migrationsDirectory: EXAMPLE_MIGRATIONS };
    reference = await withLocalSession(
      await kind.fresh(),
      v2,
      params,
      definitions,
      async (fresh) => {
        await fresh.daily(DATES);
        expect(await leftByV1(fresh)).toBe(0);
        return dumpTables(fresh.services.deps.sql, [...ownedTables, 'raw_orders']);
      },
      options,
    );
    historyWithV1 = await kind.fresh();
    await withLocalSession(
      historyWithV1,
      v1,
      params,
      definitions,
      async (old) => {
        await old.daily(DATES);
        const { rows } = await old.services.deps.sql.query<{ marked: number; rejected: number }>(
          `SELECT (SELECT count(*) FROM raw_orders WHERE rejected_reason IS NOT NULL)::int AS marked,
                  (SELECT count(*) FROM rejected_orders)::int AS rejected`,
        );
        // v1 left marks and rejected rows behind, on every date.
        expect(rows[0].marked).toBeGreaterThan(0);
        expect(rows[0].rejected).toBe(rows[0].marked);
      },
      options,
    );
  });
  afterAll(() => Promise.all(kinds.map((k) => k.dispose())));

  it('applies both transitions once per planned date, before that date reruns, and ends equal to a fresh run of v2', async () => {
    const session = await open(await kind.copy(historyWithV1), v2, exampleTransitions);
    const { services, workflows } = session;
    try {
      const outcome = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(outcome.status).toBe('SUCCEEDED');

      const applied = await appliedRows(services);
      expect(applied.map((row) => `${row.day} ${row.transition_id}`)).toEqual(
        DATES.flatMap((date) => [
          `${date} 0001_clear_raw_rejected_reason`,
          `${date} 0002_delete_rejected_orders`,
        ]),
      );
      const history = await readHistory(services.deps.sql);
      for (const date of DATES) {
        const rerun = history.find(
          (run) => run.date === date && run.stage === 'transform' && run.version === 2,
        )!;
        for (const row of applied.filter((r) => r.day === date))
          expect(row.applied_at < rerun.startedAt).toBe(true);
      }
      expect(await leftByV1(session)).toBe(0);
      // raw_orders too: ingest did not rerun, the first transition cleared v1's marks on its rows.
      expect(await dumpTables(services.deps.sql, [...ownedTables, 'raw_orders'])).toEqual(reference);

      // A second backfill plans nothing and applies nothing.
      const again = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(again.status).toBe('SUCCEEDED');
      expect(await appliedRows(services)).toEqual(applied);
    } finally {
      await session.close();
    }
  });

  it('without the transitions, the same backfill leaves v1’s marks and rejected rows behind', async () => {
    await withLocalSession(
      await kind.copy(historyWithV1),
      v2,
      params,
      definitions,
      async (session) => {
        await succeeded(session.workflows.start('backfill', { mode: 'auto' }).done);
        expect(await appliedRows(session.services)).toEqual([]);
        expect(await leftByV1(session)).toBeGreaterThan(0);
        expect(await dumpTables(session.services.deps.sql, [...ownedTables, 'raw_orders'])).not.toEqual(
          reference,
        );
      },
      { migrationsDirectory: EXAMPLE_MIGRATIONS },
    );
  });

  it('does not apply them on a date the plan reruns only from a later stage', async () => {
    // The code is at transform v2 with its transitions, but the backfill reruns from aggregate only:
    // transform does not rerun on those dates, so its transitions must not run there.
    const session = await open(await kind.copy(historyWithV1), v2, exampleTransitions);
    const { services, workflows } = session;
    try {
      await succeeded(
        workflows.start('backfill', { from: DATES[0], to: DATES[1], startStage: 'aggregate' }).done,
      );
      expect(await appliedRows(services)).toEqual([]);

      // The same code and transitions do apply where the plan reruns transform.
      await succeeded(
        workflows.start('backfill', { from: DATES[2], to: DATES[2], startStage: 'transform' }).done,
      );
      expect((await appliedRows(services)).map((row) => `${row.day} ${row.transition_id}`)).toEqual([
        `${DATES[2]} 0001_clear_raw_rejected_reason`,
        `${DATES[2]} 0002_delete_rejected_orders`,
      ]);
      const { rows } = await services.deps.sql.query<{ day: string; n: number }>(
        `SELECT day::text AS day, count(*)::int AS n FROM rejected_orders GROUP BY day ORDER BY day`,
      );
      expect(rows.map((row) => row.day)).toEqual(DATES.filter((date) => date !== DATES[2]));
    } finally {
      await session.close();
    }
  });
});
