/**
 * Transitions in a backfill, on the meters fixture: validate v2 stops recording rejected readings,
 * and its transition deletes the rows v1 left in `rejected_readings`, once per planned date, before
 * that date reruns. In-process, on the synthesized workflows and PGlite.
 */
import { dateRange } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { PipelineParams } from '../../lambdas/engine/stage';
import { defineTransition, defineTransitions, type Transition } from '../../lambdas/engine/transition';
import { readHistory } from '../../lambdas/ledger/ledger-store';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { type LocalServices, openLocalServices } from '../../local/local-services';
import { type ExecutionOutcome, LocalWorkflows } from '../../local/local-workflows';
import { pipeline as v1 } from '../fixtures/pipelines/meters';
import {
  pipeline as v2,
  transitions as v2Transitions,
} from '../fixtures/pipelines/meters-validate-v2-with-transitions';
import { dumpTables } from '../support/databases';
import { METERS } from '../support/fixture-pipelines';
import {
  type LocalStore,
  localStoreKinds,
  openLocalSession,
  withLocalSession,
} from '../support/local-stores';
import { testWorkflowDefinitions } from '../support/test-definitions';

const DATES = dateRange('2026-03-01', '2026-03-08');
const params: PipelineParams = { rowsPerDay: '150' };
const ownedTables = [...new Set([...v1.stages, ...v2.stages].flatMap((stage) => stage.owns))];
const kinds = localStoreKinds();
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

describe('Transitions in a backfill', () => {
  let definitions: WorkflowDefinitions;
  let reference: Record<string, unknown[]>;
  /** v1 ran the daily workflow for every date: the history each test starts from (a copy of it). */
  let historyWithV1: LocalStore;

  const open = (store: LocalStore, pipeline: Pipeline, transitions: readonly Transition[] = []) =>
    openLocalSession(store, pipeline, params, definitions, { transitions });

  beforeAll(async () => {
    // v1 and v2 have the same stage names and lookbacks: one synthesis serves both.
    definitions = testWorkflowDefinitions('integration-transitions', v2, v2Transitions);
    // What the new code gives when it runs every date from scratch.
    reference = await withLocalSession(await kind.fresh(), v2, params, definitions, async (fresh) => {
      await fresh.daily(DATES);
      return dumpTables(fresh.services.deps.sql, ownedTables);
    });
    historyWithV1 = await kind.fresh();
    await withLocalSession(historyWithV1, v1, params, definitions, async (old) => {
      await old.daily(DATES);
      const { rows } = await old.services.deps.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM rejected_readings',
      );
      expect(rows[0].n).toBeGreaterThan(0); // v1 left rejected rows behind
    });
  });
  afterAll(() => Promise.all(kinds.map((k) => k.dispose())));

  it('applies each transition once per planned date, before that date reruns, and ends equal to a fresh run', async () => {
    const { services, workflows, close } = await open(await kind.copy(historyWithV1), v2, v2Transitions);
    try {
      const outcome = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(outcome.status).toBe('SUCCEEDED');

      const applied = await appliedRows(services);
      expect(applied.map((row) => `${row.day} ${row.transition_id}`)).toEqual(
        DATES.map((date) => `${date} 0001_delete_rejected_readings`),
      );
      const history = await readHistory(services.deps.sql);
      for (const date of DATES) {
        const rerun = history.find(
          (run) => run.date === date && run.stage === 'validate' && run.version === 2,
        )!;
        for (const row of applied.filter((r) => r.day === date))
          expect(row.applied_at < rerun.startedAt).toBe(true);
      }
      expect(await dumpTables(services.deps.sql, ownedTables)).toEqual(reference);
      expect(reference.rejected_readings).toEqual([]);

      // A second backfill plans nothing and applies nothing.
      const again = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(again.status).toBe('SUCCEEDED');
      expect(await appliedRows(services)).toEqual(applied);
    } finally {
      await close();
    }
  });

  it('applies each transition exactly once per date when a stopped backfill is resumed', async () => {
    const store = await kind.copy(historyWithV1);
    let tasks = 0;
    const services = await openLocalServices({
      dataDir: store.dataDir,
      pipeline: v2,
      migrationsDirectory: METERS.migrationsDirectory,
      transitions: v2Transitions,
      params,
    });
    try {
      let stop: () => void = () => undefined;
      const workflows = await LocalWorkflows.create(services, definitions, {
        pauseMs: 20,
        onTask: (event) => {
          if (event.state.startsWith('Run ') && ++tasks === 10) stop();
        },
      });
      const first = workflows.start('backfill', { mode: 'auto' });
      stop = first.abort;
      expect((await first.done).status).toBe('ABORTED');
      const partial = await appliedRows(services);
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(DATES.length);

      await succeeded(workflows.start('backfill', { mode: 'auto' }).done);
      const applied = await appliedRows(services);
      expect(applied).toHaveLength(DATES.length);
      expect(new Set(applied.map((row) => `${row.day} ${row.transition_id}`)).size).toBe(DATES.length);
      expect(await dumpTables(services.deps.sql, ownedTables)).toEqual(reference);
    } finally {
      await services.close();
    }
  });

  it('fails the date with the transition id, rolls it back, releases the lease, and retries it on resume', async () => {
    let broken = true;
    const flaky = defineTransition({
      id: '0002_flaky',
      stage: 'validate',
      toVersion: 2,
      description: 'Fails until fixed.',
      apply: async ({ sql, date }) => {
        await sql.query(
          "UPDATE meter_readings SET status = 'flaky' WHERE day = $1::date AND status = 'faulty'",
          [date],
        );
        if (broken && date === DATES[3]) throw new Error('constraint violated');
        await sql.query(
          "UPDATE meter_readings SET status = 'faulty' WHERE day = $1::date AND status = 'flaky'",
          [date],
        );
      },
    });
    const transitions = defineTransitions(v2, [...v2Transitions, flaky]);
    const { services, workflows, close } = await open(await kind.copy(historyWithV1), v2, transitions);
    try {
      const { rows: faulty } = await services.deps.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM meter_readings WHERE day = $1::date AND status = 'faulty'",
        [DATES[3]],
      );
      expect(faulty[0].n).toBeGreaterThan(0); // the transition's first update has rows to change

      const failed = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(failed).toMatchObject({ status: 'FAILED', error: 'TransitionFailedError' });
      expect(failed.status === 'FAILED' && failed.cause).toContain(
        `Transition 0002_flaky failed for ${DATES[3]}: constraint violated`,
      );
      // Rolled back: the transition's first update did not stick.
      const { rows } = await services.deps.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM meter_readings WHERE day = $1::date AND status = 'flaky'",
        [DATES[3]],
      );
      expect(rows[0].n).toBe(0);
      expect(
        (await appliedRows(services)).some(
          (row) => row.transition_id === '0002_flaky' && row.day === DATES[3],
        ),
      ).toBe(false);
      const lease = await services.deps.leases.acquire('daily', 'probe', Date.now());
      await services.deps.leases.release('probe', lease.token);

      broken = false;
      await succeeded(workflows.start('backfill', { mode: 'auto' }).done);
      expect((await appliedRows(services)).filter((row) => row.transition_id === '0002_flaky')).toHaveLength(
        DATES.length,
      );
    } finally {
      await close();
    }
  });

  it('does not apply a transition on a date the plan reruns only from a later stage', async () => {
    // The code is at validate v2 with its transition, but the backfill reruns from summarize only:
    // validate does not rerun on those dates, so its transition must not run there.
    const { services, workflows, close } = await open(await kind.copy(historyWithV1), v2, v2Transitions);
    try {
      const plan = workflows.start('backfill', { from: DATES[0], to: DATES[1], startStage: 'summarize' });
      await succeeded(plan.done);
      expect(await appliedRows(services)).toEqual([]);

      // The same code and transitions do apply where the plan reruns validate.
      await succeeded(
        workflows.start('backfill', { from: DATES[2], to: DATES[2], startStage: 'validate' }).done,
      );
      expect((await appliedRows(services)).map((row) => `${row.day} ${row.transition_id}`)).toEqual([
        `${DATES[2]} 0001_delete_rejected_readings`,
      ]);
    } finally {
      await close();
    }
  });
});
