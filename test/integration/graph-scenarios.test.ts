/**
 * End to end, on the shop example (a graph: two sources, a join, a 28-day window), through the
 * synthesized workflows and a real database: after a change to any one stage, `backfill
 * {"mode": "auto"}` reruns that stage and exactly the stages that read it, directly or not, leaves
 * every owned table as a from-scratch run of the new code, keeps the run ids of every other
 * stage, and a second auto backfill finds nothing to do. Then a missed day and manual reruns of
 * one date: what the auto plan reruns after them follows the graph (a same-day read ends at the
 * date; the 28-day window carries on to the 27 dates after it).
 *
 * The code changes are the rehearsals next to the other fixtures (test/fixtures/pipelines/shop-*-v2.ts),
 * one per stage; every scenario runs on PGlite and, where the global setup has one, PostgreSQL.
 */
import { performance } from 'node:perf_hooks';
import { pipeline as shop } from '../../examples/shop';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { PipelineParams } from '../../lambdas/engine/stage';
import { readBackfillPlan } from '../../lambdas/ledger/backfill-plans';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import type { BackfillPlanResult } from '../../lambdas/workflow/contracts';
import type { JsonObject, WorkflowDefinitions } from '../../lib/workflow-definitions';
import { pipeline as withConversionV2 } from '../fixtures/pipelines/shop-conversion-v2';
import { pipeline as withDailyActiveUsersV2 } from '../fixtures/pipelines/shop-daily-active-users-v2';
import { pipeline as withOrdersV2 } from '../fixtures/pipelines/shop-orders-v2';
import { pipeline as withRevenueV2 } from '../fixtures/pipelines/shop-revenue-v2';
import { pipeline as withSessionsV2 } from '../fixtures/pipelines/shop-sessions-v2';
import { pipeline as withWebEventsV2 } from '../fixtures/pipelines/shop-web-events-v2';
import { dumpTables } from '../support/databases';
import { SHOP } from '../support/fixture-pipelines';
import {
  backfillOutput,
  type LocalSession,
  type LocalStore,
  localStoreKinds,
  withLocalSession,
} from '../support/local-stores';
import { testWorkflowDefinitions } from '../support/test-definitions';

const params: PipelineParams = {};
/**
 * 31 dates: daily_active_users' 28-day window is full from the 28th on, and a date early in the range
 * is read by the windows of the 27 dates after it, with a date left over beyond their reach.
 */
const DATES = dateRange('2026-03-01', '2026-03-31');
const LAST = DATES[DATES.length - 1];
const OWNED_TABLES = shop.stages.flatMap((stage) => stage.owns);
const WINDOW = shop.lookbackOf('daily_active_users');
const ALL = shop.names;

/** Each stage's next version, as its rehearsal module has it. */
const BUMPS: ReadonlyArray<readonly [string, Pipeline]> = [
  ['web_events', withWebEventsV2],
  ['orders', withOrdersV2],
  ['sessions', withSessionsV2],
  ['daily_active_users', withDailyActiveUsersV2],
  ['revenue_by_country', withRevenueV2],
  ['conversion', withConversionV2],
];

const POSTGRES_BUMPS: ReadonlySet<string> = new Set(['web_events', 'sessions', 'conversion']);

type Dump = Record<string, unknown[]>;
/** A stored plan as `[date, stages]` pairs. */
type PlannedSets = Array<[IsoDate, string[]]>;

const dumpOwned = (session: LocalSession): Promise<Dump> =>
  dumpTables(session.services.deps.sql, OWNED_TABLES);
const historyCount = async (session: LocalSession): Promise<number> =>
  (await readHistory(session.services.deps.sql)).length;

/** The run ids the ledger holds, keyed `date/stage`. */
async function runIds(session: LocalSession): Promise<Map<string, string>> {
  const ledger = await readLedger(session.services.deps.sql);
  return new Map(ledger.map((row) => [`${row.date}/${row.stage}`, row.runId]));
}

/** The `date/stage` keys whose run id differs between two reads of the ledger (or is new), sorted. */
function changedCells(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  return [...after]
    .filter(([cell, runId]) => before.get(cell) !== runId)
    .map(([cell]) => cell)
    .sort();
}

const cells = (dates: readonly IsoDate[], stages: readonly string[]): string[] =>
  dates.flatMap((date) => stages.map((stage) => `${date}/${stage}`)).sort();

/** The stages each date of an execution's stored plan reruns. */
async function plannedSets(session: LocalSession, executionId: string): Promise<PlannedSets> {
  const plan = await readBackfillPlan(session.services.deps.sql, executionId);
  return plan.map((planned) => [planned.date, [...(planned.stages ?? [])]]);
}

const versions = (code: Pipeline): string =>
  code.stages
    .filter((stage) => stage.version !== 1)
    .map((stage) => `${stage.name} v${stage.version}`)
    .join(', ') || 'v1';

let definitions: WorkflowDefinitions;

beforeAll(() => {
  // Versions do not change the workflows: one synthesis serves every variant.
  definitions = testWorkflowDefinitions('graph-scenarios', shop);
});

const figures: string[] = [];

afterAll(() => {
  if (figures.length > 0) console.log(`Graph scenarios (shop example):\n${figures.join('\n')}`);
});

describe.each(localStoreKinds(SHOP.migrationsDirectory))(
  'the shop example (a stage graph) on $name',
  (kind) => {
    /** v1 code, daily workflow for every date: the history each scenario starts from. */
    let baseline: LocalStore;
    let baselineDump: Dump;
    const references = new Map<Pipeline, Promise<Dump>>();
    let started = 0;

    const withSession = <T>(store: LocalStore, code: Pipeline, work: (s: LocalSession) => Promise<T>) =>
      withLocalSession(store, code, params, definitions, work, {
        migrationsDirectory: SHOP.migrationsDirectory,
      });

    async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
      const start = performance.now();
      const result = await work();
      figures.push(`[${kind.name}] ${what}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
      return result;
    }

    /** The owned tables of a fresh installation where `code` ran the daily workflow for every date. */
    function fromScratch(code: Pipeline): Promise<Dump> {
      if (code === shop) return Promise.resolve(baselineDump);
      let dump = references.get(code);
      if (dump === undefined) {
        dump = kind.fresh().then((store) =>
          withSession(store, code, (session) =>
            timed(`reference: ${DATES.length} daily runs of ${versions(code)} from scratch`, async () => {
              await session.daily(DATES);
              return dumpOwned(session);
            }),
          ),
        );
        references.set(code, dump);
      }
      return dump;
    }

    /** Runs a backfill through the workflow, checks it succeeded; returns its output and stored plan. */
    async function backfill(
      session: LocalSession,
      scenario: string,
      input: JsonObject,
    ): Promise<BackfillPlanResult & { planned: PlannedSets }> {
      const execution = session.workflows.start('backfill', input);
      const plan = await timed(scenario, async () => backfillOutput(await execution.done));
      figures[figures.length - 1] += ` (${plan.totals.dates} dates, ${plan.totals.stageRuns} stage-runs)`;
      return { ...plan, planned: await plannedSets(session, execution.executionId) };
    }

    /** An auto backfill that must find nothing to do, and changes nothing. */
    async function expectNothingToDo(session: LocalSession, scenario: string): Promise<void> {
      const dump = await dumpOwned(session);
      const runs = await historyCount(session);
      const again = await backfill(session, `${scenario}, auto again`, { mode: 'auto' });
      expect(again.planned).toEqual([]);
      expect(again.positions).toEqual([]);
      expect(again.totals.dates).toBe(0);
      expect(await dumpOwned(session)).toEqual(dump);
      expect(await historyCount(session)).toBe(runs);
    }

    /** An auto backfill that runs exactly what it planned, then a second one that finds nothing to do. */
    async function backfillTwice(
      session: LocalSession,
      scenario: string,
    ): Promise<BackfillPlanResult & { planned: PlannedSets }> {
      const runsBefore = await historyCount(session);
      const plan = await backfill(session, scenario, { mode: 'auto' });
      expect((await historyCount(session)) - runsBefore).toBe(plan.totals.stageRuns);
      await expectNothingToDo(session, scenario);
      return plan;
    }

    beforeAll(async () => {
      started = performance.now();
      baseline = await kind.fresh();
      await withSession(baseline, shop, (session) =>
        timed(`baseline: ${DATES.length} daily runs of v1`, async () => {
          await session.daily(DATES);
          baselineDump = await dumpOwned(session);
        }),
      );
    });

    afterAll(async () => {
      figures.push(`[${kind.name}] whole describe: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await kind.dispose();
    });

    it('starts from a complete daily history: every date, every stage, once', async () => {
      await withSession(await kind.copy(baseline), shop, async (session) => {
        expect(await historyCount(session)).toBe(DATES.length * ALL.length);
      });
      for (const table of OWNED_TABLES) expect(baselineDump[table].length).toBeGreaterThan(0);
    });

    // Every change on PGlite; on PostgreSQL a source, the shared stage and a leaf with two inputs:
    // the statements each stage runs are the same on both databases, and the other three would add
    // about a minute to CI.
    const bumps = kind.name === 'pglite' ? BUMPS : BUMPS.filter(([stage]) => POSTGRES_BUMPS.has(stage));
    it.each(bumps)(
      'after %s changes, reruns it and what reads it on every date, keeps every other run id, and ends as a from-scratch run',
      async (bumped, code) => {
        const rerun = shop.downstreamOf([bumped]);
        const kept = ALL.filter((stage) => !rerun.includes(stage));
        const store = await kind.copy(baseline);
        await withSession(store, code, async (session) => {
          const before = await runIds(session);

          const plan = await backfillTwice(session, `change to ${bumped}`);

          expect(plan.planned).toEqual(DATES.map((date) => [date, rerun]));
          expect(plan.totals).toEqual({
            dates: DATES.length,
            stageRuns: DATES.length * rerun.length,
            fullRerunStageRuns: DATES.length * ALL.length,
          });
          // Exactly the downstream cells got new run ids; every other stage kept its own, on every date.
          expect(changedCells(before, await runIds(session))).toEqual(cells(DATES, rerun));
          const after = await runIds(session);
          for (const cell of cells(DATES, kept)) expect(after.get(cell)).toBe(before.get(cell));

          const tables = await dumpOwned(session);
          for (const table of code.stage(bumped).owns) expect(tables[table]).not.toEqual(baselineDump[table]); // the change is real
          expect(tables).toEqual(await fromScratch(code));
        });
      },
    );

    it(`fills a missed day and reruns daily_active_users on the ${WINDOW} dates whose window reads it`, async () => {
      // Early enough that the window's 27 dates after it end before the last date, which stays as it is.
      const missed = DATES[2];
      const after = dateRange(addDays(missed, 1), addDays(missed, WINDOW));
      expect(after.at(-1)! < LAST).toBe(true);
      const store = await kind.fresh();
      await withSession(store, shop, async (session) => {
        await session.daily(DATES.filter((date) => date < missed));
        // The next daily run refuses, writing nothing: daily_active_users would read the missing date.
        const runs = await historyCount(session);
        const refused = await session.workflows.start('daily', { date: addDays(missed, 1) }).done;
        expect(refused).toMatchObject({ status: 'FAILED', error: 'EarlierDatesStaleError' });
        expect(refused.status === 'FAILED' && refused.cause).toContain(missed);
        expect(refused.status === 'FAILED' && refused.cause).toContain('daily_active_users');
        expect(await historyCount(session)).toBe(runs);
        // So the dates after the gap come from an explicit backfill of both sources and everything
        // downstream of them, which runs what it is told.
        const explicit = await backfill(session, `missed ${missed}: the later dates, explicitly`, {
          from: addDays(missed, 1),
          to: LAST,
          stages: ['web_events', 'orders'],
        });
        expect(explicit.planned).toEqual(dateRange(addDays(missed, 1), LAST).map((date) => [date, ALL]));
        expect(await dumpOwned(session)).not.toEqual(baselineDump); // the window saw a day fewer
        const before = await runIds(session);

        const plan = await backfillTwice(session, `missed ${missed}`);

        expect(plan.planned).toEqual([[missed, ALL], ...after.map((date) => [date, ['daily_active_users']])]);
        expect(plan.totals.stageRuns).toBe(ALL.length + WINDOW);
        expect(changedCells(before, await runIds(session))).toEqual(
          [...cells([missed], ALL), ...cells(after, ['daily_active_users'])].sort(),
        );
        expect(await dumpOwned(session)).toEqual(baselineDump);
      });
    });

    it('after one date reruns from orders by hand, reruns nothing else: nothing reads orders beyond its date', async () => {
      const date = DATES[10];
      const store = await kind.copy(baseline);
      await withSession(store, shop, async (session) => {
        const before = await runIds(session);

        const manual = await backfill(session, `manual rerun of ${date}, stages [orders]`, {
          from: date,
          to: date,
          stages: ['orders'],
        });

        const rerun = ['orders', 'revenue_by_country', 'conversion'];
        expect(manual.planned).toEqual([[date, rerun]]);
        expect(manual.totals).toEqual({ dates: 1, stageRuns: rerun.length, fullRerunStageRuns: ALL.length });
        expect(changedCells(before, await runIds(session))).toEqual(cells([date], rerun));
        expect(await dumpOwned(session)).toEqual(baselineDump);

        await expectNothingToDo(session, `manual rerun of ${date} from orders`);
      });
    });

    it(`after one date reruns from sessions by hand, reruns daily_active_users on the ${WINDOW} dates after it`, async () => {
      const date = DATES[2];
      const after = dateRange(addDays(date, 1), addDays(date, WINDOW));
      const store = await kind.copy(baseline);
      await withSession(store, shop, async (session) => {
        const manual = await backfill(session, `manual rerun of ${date}, startStage sessions`, {
          from: date,
          to: date,
          startStage: 'sessions',
        });
        const rerun = ['sessions', 'daily_active_users', 'conversion'];
        expect(manual.planned).toEqual([[date, rerun]]);
        expect(manual.totals.stageRuns).toBe(rerun.length);
        const before = await runIds(session);

        const plan = await backfillTwice(session, `manual rerun of ${date} from sessions`);

        expect(plan.planned).toEqual(after.map((day) => [day, ['daily_active_users']]));
        expect(plan.totals.stageRuns).toBe(WINDOW);
        expect(changedCells(before, await runIds(session))).toEqual(cells(after, ['daily_active_users']));
        expect(await dumpOwned(session)).toEqual(baselineDump);
      });
    });
  },
);
