import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dateRange } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { defineTransition, defineTransitions, type Transition } from '../../lambdas/engine/transition';
import { readHistory } from '../../lambdas/ledger/ledger-store';
import { cachedWorkflowDefinitions } from '../../local/cached-definitions';
import { type LocalServices, openLocalServices } from '../../local/local-services';
import { type ExecutionOutcome, LocalWorkflows } from '../../local/local-workflows';
import { pipeline as v1 } from '../../pipeline/stages';
import { transitions as exampleTransitions, pipeline as v2 } from '../../pipeline/test/fixtures/transform-v2-with-transitions';
import { dumpTables } from '../support/databases';

const DATES = dateRange('2026-03-01', '2026-03-08');
const params = { rowsPerDay: 150 };
const ownedTables = [...new Set([...v1.stages, ...v2.stages].flatMap((stage) => stage.owns))];

interface Opened {
  services: LocalServices;
  workflows: LocalWorkflows;
}

async function open(
  dataDir: string,
  pipeline: Pipeline,
  transitions: readonly Transition[] = [],
): Promise<Opened> {
  const services = await openLocalServices({ dataDir, pipeline, transitions, params });
  const workflows = await LocalWorkflows.create(services, cachedWorkflowDefinitions(dataDir, pipeline), {
    pauseMs: 20,
  });
  return { services, workflows };
}

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
  let root: string;
  let reference: Record<string, unknown[]>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'hindsight-transitions-'));
    // What the new code gives when it runs every date from scratch.
    const fresh = await open(join(root, 'fresh'), v2);
    try {
      for (const date of DATES) await succeeded(fresh.workflows.start('daily', { date }).done);
      reference = await dumpTables(fresh.services.deps.sql, ownedTables);
    } finally {
      await fresh.services.close();
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function historyWithV1(name: string): Promise<string> {
    const dataDir = join(root, name);
    const old = await open(dataDir, v1);
    try {
      for (const date of DATES) await succeeded(old.workflows.start('daily', { date }).done);
      const { rows } = await old.services.deps.sql.query<{ n: number }>(
        'SELECT count(*) AS n FROM raw_orders WHERE rejected_reason IS NOT NULL',
      );
      expect(rows[0].n).toBeGreaterThan(0); // v1 left marks and rejected rows behind
    } finally {
      await old.services.close();
    }
    return dataDir;
  }

  it('applies each transition once per planned date, before that date reruns, and ends equal to a fresh run', async () => {
    const dataDir = await historyWithV1('once');
    const { services, workflows } = await open(dataDir, v2, exampleTransitions);
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
      expect(await dumpTables(services.deps.sql, ownedTables)).toEqual(reference);

      // A second backfill plans nothing and applies nothing.
      const again = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(again.status).toBe('SUCCEEDED');
      expect(await appliedRows(services)).toEqual(applied);
    } finally {
      await services.close();
    }
  });

  it('applies each transition exactly once per date when a stopped backfill is resumed', async () => {
    const dataDir = await historyWithV1('resumed');
    let tasks = 0;
    const services = await openLocalServices({
      dataDir,
      pipeline: v2,
      transitions: exampleTransitions,
      params,
    });
    try {
      let stop: () => void = () => undefined;
      const workflows = await LocalWorkflows.create(services, cachedWorkflowDefinitions(dataDir, v2), {
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
      expect(partial.length).toBeLessThan(DATES.length * 2);

      await succeeded(workflows.start('backfill', { mode: 'auto' }).done);
      const applied = await appliedRows(services);
      expect(applied).toHaveLength(DATES.length * 2);
      expect(new Set(applied.map((row) => `${row.day} ${row.transition_id}`)).size).toBe(DATES.length * 2);
      expect(await dumpTables(services.deps.sql, ownedTables)).toEqual(reference);
    } finally {
      await services.close();
    }
  });

  it('fails the date with the transition id, rolls it back, releases the lease, and retries it on resume', async () => {
    const dataDir = await historyWithV1('failing');
    let broken = true;
    const flaky = defineTransition({
      id: '0003_flaky',
      stage: 'transform',
      toVersion: 2,
      description: 'Fails until fixed.',
      apply: async ({ sql, date }) => {
        await sql.query("UPDATE raw_orders SET rejected_reason = 'flaky' WHERE day = $1::date", [date]);
        if (broken && date === DATES[3]) throw new Error('constraint violated');
        await sql.query('UPDATE raw_orders SET rejected_reason = NULL WHERE day = $1::date', [date]);
      },
    });
    const transitions = defineTransitions(v2, [...exampleTransitions, flaky]);
    const { services, workflows } = await open(dataDir, v2, transitions);
    try {
      const failed = await workflows.start('backfill', { mode: 'auto' }).done;
      expect(failed).toMatchObject({ status: 'FAILED', error: 'TransitionFailedError' });
      expect(failed.status === 'FAILED' && failed.cause).toContain(
        `Transition 0003_flaky failed for ${DATES[3]}: constraint violated`,
      );
      // Rolled back: the transition's first update did not stick.
      const { rows } = await services.deps.sql.query<{ n: number }>(
        "SELECT count(*) AS n FROM raw_orders WHERE day = $1::date AND rejected_reason = 'flaky'",
        [DATES[3]],
      );
      expect(rows[0].n).toBe(0);
      expect(
        (await appliedRows(services)).some(
          (row) => row.transition_id === '0003_flaky' && row.day === DATES[3],
        ),
      ).toBe(false);
      const lease = await services.deps.leases.acquire('daily', 'probe', Date.now());
      await services.deps.leases.release('probe', lease.token);

      broken = false;
      await succeeded(workflows.start('backfill', { mode: 'auto' }).done);
      expect((await appliedRows(services)).filter((row) => row.transition_id === '0003_flaky')).toHaveLength(
        DATES.length,
      );
    } finally {
      await services.close();
    }
  });

  it('does not apply a transition on a date the plan reruns only from a later stage', async () => {
    // The code is at transform v2 with its transitions, but the backfill reruns from aggregate only:
    // transform does not rerun on those dates, so its transitions must not run there.
    const dataDir = await historyWithV1('later-stage');
    const { services, workflows } = await open(dataDir, v2, exampleTransitions);
    try {
      const plan = workflows.start('backfill', { from: DATES[0], to: DATES[1], startStage: 'aggregate' });
      await succeeded(plan.done);
      expect(await appliedRows(services)).toEqual([]);

      // The same code and transitions do apply where the plan reruns transform.
      await succeeded(
        workflows.start('backfill', { from: DATES[2], to: DATES[2], startStage: 'transform' }).done,
      );
      expect((await appliedRows(services)).map((row) => `${row.day} ${row.transition_id}`)).toEqual([
        `${DATES[2]} 0001_clear_raw_rejected_reason`,
        `${DATES[2]} 0002_delete_rejected_orders`,
      ]);
    } finally {
      await services.close();
    }
  });
});
