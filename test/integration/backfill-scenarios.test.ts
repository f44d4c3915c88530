/**
 * End to end, on the example pipeline, through the synthesized workflows and a real database:
 * after a code change, `backfill {"mode": "auto"}` leaves the stages' tables exactly as if the new
 * code had run every date from scratch, reruns only the (date, stage) pairs it must, and a second
 * auto backfill finds nothing to do.
 */
import { performance } from 'node:perf_hooks';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import { defineStage, type PipelineParams, type Stage, type StageContext } from '../../lambdas/engine/stage';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import type { BackfillPlanResult } from '../../lambdas/workflow/contracts';
import { synthesizeWorkflowDefinitions, type WorkflowDefinitions } from '../../lib/workflow-definitions';
import { pipeline as original } from '../../pipeline/stages';
import { aggregate } from '../../pipeline/stages/aggregate';
import { ingest } from '../../pipeline/stages/ingest';
import { publish } from '../../pipeline/stages/publish';
import { rolling } from '../../pipeline/stages/rolling';
import { dumpTables } from '../support/databases';
import {
  backfillOutput,
  type LocalSession,
  type LocalStore,
  localStoreKinds,
  plannedDates,
  withLocalSession,
} from '../support/local-stores';

const params: PipelineParams = { rowsPerDay: 200 };
const DATES = dateRange('2026-02-01', '2026-02-14');
const FIRST = DATES[0];
const LAST = DATES[DATES.length - 1];
const OWNED_TABLES = original.stages.flatMap((stage) => stage.owns);
const ROLLING_LOOKBACK = rolling.lookbackDays;

// ---------------------------------------------------------------------------------------------
// The code changes: each a real change of what one stage computes, with its version bumped.

/** The repository's stage list with some stages replaced by their next version. */
function withChanges(...changed: Stage[]): Pipeline {
  return definePipeline(original.stages.map((stage) => changed.find((c) => c.name === stage.name) ?? stage));
}

/** ingest v2: the feed still sends a delisted product, now dropped at load; currency codes are normalised. */
const ingestV2 = defineStage({
  ...ingest,
  version: ingest.version + 1,
  run: async (context) => {
    const loaded = await ingest.run(context);
    const { rowCount: dropped } = await context.sql.query(
      `DELETE FROM raw_orders WHERE day = $1::date AND product = 'matcha'`,
      [context.date],
    );
    await context.sql.query(`UPDATE raw_orders SET currency = upper(trim(currency)) WHERE day = $1::date`, [
      context.date,
    ]);
    return loaded - dropped;
  },
});

/** transform with other exchange rates: v1's are EUR 1.00, USD 0.92, GBP 1.17. Keeps everything else v1 does. */
function transformAt(version: number, usd: number, gbp: number): Stage {
  const v1 = original.stage('transform');
  return defineStage({
    ...v1,
    version,
    run: async (context: StageContext) => {
      const kept = await v1.run(context);
      await context.sql.query(
        `UPDATE clean_orders AS c
         SET unit_price_eur = round(r.unit_price * fx.rate, 2),
             amount_eur = round(c.quantity * r.unit_price * fx.rate, 2)
         FROM raw_orders AS r
         JOIN (VALUES ('EUR', 1.00), ('USD', $2::numeric), ('GBP', $3::numeric)) AS fx (currency, rate)
           ON fx.currency = upper(trim(r.currency))
         WHERE c.day = $1::date AND r.day = $1::date AND r.order_id = c.order_id AND r.rejected_reason IS NULL`,
        [context.date, usd, gbp],
      );
      return kept;
    },
  });
}
const transformV2 = transformAt(2, 0.95, 1.19);

/** aggregate v2: a bulk line counts at most 3 units (the client's new rule). */
const aggregateV2 = defineStage({
  ...aggregate,
  version: aggregate.version + 1,
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO daily_sales (day, product, orders, units, customers, revenue_eur)
       SELECT day, product, count(*), sum(least(quantity, 3)), count(DISTINCT customer_id), sum(amount_eur)
       FROM clean_orders
       WHERE day = $1::date
       GROUP BY day, product`,
      [date],
    );
    return rowCount;
  },
});

/** rolling v2: the daily average is over the days present in the window, not always 7. */
const rollingV2 = defineStage({
  ...rolling,
  version: rolling.version + 1,
  run: async ({ sql, date, windowStart }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO rolling_sales (day, product, days_in_window, revenue_day_eur, orders_7d, revenue_7d_eur, avg_daily_eur)
       SELECT $1::date, product, count(DISTINCT day),
              COALESCE(sum(revenue_eur) FILTER (WHERE day = $1::date), 0),
              sum(orders), sum(revenue_eur), round(sum(revenue_eur) / count(DISTINCT day), 2)
       FROM daily_sales
       WHERE day BETWEEN $2::date AND $1::date
       GROUP BY product`,
      [date, windowStart],
    );
    return rowCount;
  },
});

/** publish v2: a day is a trend only beyond ±20% of the average (v1: ±10%). */
const publishV2 = defineStage({
  ...publish,
  version: publish.version + 1,
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO sales_report (day, product, rank, revenue_eur, revenue_7d_eur, share_of_day, trend)
       SELECT day, product,
              rank() OVER (ORDER BY revenue_7d_eur DESC, product),
              revenue_day_eur, revenue_7d_eur,
              CASE WHEN sum(revenue_day_eur) OVER () = 0 THEN 0
                   ELSE round(revenue_day_eur / sum(revenue_day_eur) OVER (), 4) END,
              CASE WHEN revenue_day_eur > avg_daily_eur * 1.2 THEN 'up'
                   WHEN revenue_day_eur < avg_daily_eur * 0.8 THEN 'down'
                   ELSE 'flat' END
       FROM rolling_sales
       WHERE day = $1::date`,
      [date],
    );
    return rowCount;
  },
});

const withIngestV2 = withChanges(ingestV2);
const withTransformV2 = withChanges(transformV2);
const withRollingV2 = withChanges(rollingV2);
const withPublishV2 = withChanges(publishV2);
const withTransformAndAggregateV2 = withChanges(transformV2, aggregateV2);

// ---------------------------------------------------------------------------------------------
// Helpers

type Dump = Record<string, unknown[]>;

const dumpOwned = (session: LocalSession): Promise<Dump> =>
  dumpTables(session.services.deps.sql, OWNED_TABLES);
const historyCount = async (session: LocalSession): Promise<number> =>
  (await readHistory(session.services.deps.sql)).length;

/** The run ids the ledger holds for `stages`, keyed `date/stage`. */
async function runIds(session: LocalSession, stages: readonly string[]): Promise<Record<string, string>> {
  const ledger = await readLedger(session.services.deps.sql);
  return Object.fromEntries(
    ledger.filter((row) => stages.includes(row.stage)).map((row) => [`${row.date}/${row.stage}`, row.runId]),
  );
}

const versions = (code: Pipeline): string =>
  code.stages.map((stage) => `${stage.name} v${stage.version}`).join(', ');

let definitions: WorkflowDefinitions;

beforeAll(() => {
  // Versions do not change the workflows, and every pipeline here has the same stage names and
  // lookbacks: one synthesis serves them all.
  definitions = synthesizeWorkflowDefinitions({ pipeline: original });
});

const figures: string[] = [];

afterAll(() => {
  if (figures.length > 0) console.log(`Backfill scenarios:\n${figures.join('\n')}`);
});

describe.each(localStoreKinds())('backfill {"mode": "auto"} after a change, on $name', (kind) => {
  /** Original code, daily workflow for every date: the history each code-change scenario starts from. */
  let baseline: LocalStore;
  let baselineDump: Dump;
  let baselineHistory: number;
  const references = new Map<Pipeline, Promise<Dump>>();

  const withSession = <T>(store: LocalStore, code: Pipeline, work: (s: LocalSession) => Promise<T>) =>
    withLocalSession(store, code, params, definitions, work);

  /** The owned tables of a fresh installation where `code` ran the daily workflow for every date. */
  function fromScratch(code: Pipeline): Promise<Dump> {
    if (code === original) return Promise.resolve(baselineDump);
    let dump = references.get(code);
    if (dump === undefined) {
      dump = kind.fresh().then((store) =>
        withSession(store, code, async (session) => {
          const started = performance.now();
          await session.daily(DATES);
          const seconds = (performance.now() - started) / 1000;
          figures.push(
            `[${kind.name}] reference: ${DATES.length} daily runs of ${versions(code)} from scratch, ${seconds.toFixed(1)} s`,
          );
          return dumpOwned(session);
        }),
      );
      references.set(code, dump);
    }
    return dump;
  }

  /** Runs an auto backfill, checks it succeeded, and records the figures for the note. */
  async function autoBackfill(
    session: LocalSession,
    scenario: string,
    input: { from?: IsoDate; to?: IsoDate } = {},
  ): Promise<BackfillPlanResult & { planned: Array<[IsoDate, string]> }> {
    const started = performance.now();
    const execution = session.workflows.start('backfill', { mode: 'auto', ...input });
    const outcome = await execution.done;
    const seconds = (performance.now() - started) / 1000;
    expect(outcome.status).toBe('SUCCEEDED');
    const plan = backfillOutput(outcome);
    const { dates, stageRuns, fullRerunStageRuns } = plan.totals;
    figures.push(
      `[${kind.name}] ${scenario}: ${dates} dates planned, ${stageRuns} stage-runs ` +
        `vs ${fullRerunStageRuns} for a full rerun (${DATES.length} dates × ${original.stages.length}), ` +
        `backfill ${seconds.toFixed(1)} s`,
    );
    return { ...plan, planned: await plannedDates(session.services.deps.sql, execution.executionId) };
  }

  /**
   * Runs an auto backfill, then another: the second plans nothing and changes nothing.
   * Returns the first one's plan.
   */
  async function backfillTwice(
    session: LocalSession,
    scenario: string,
    input: { from?: IsoDate; to?: IsoDate } = {},
  ): Promise<BackfillPlanResult & { planned: Array<[IsoDate, string]> }> {
    const runsBefore = await historyCount(session);
    const plan = await autoBackfill(session, scenario, input);
    // Exactly the planned stage-runs ran: nothing more.
    const runsAfter = await historyCount(session);
    expect(runsAfter - runsBefore).toBe(plan.totals.stageRuns);

    const after = await dumpOwned(session);
    const again = await autoBackfill(session, `${scenario}, again`, input);
    expect(again.positions).toEqual([]);
    expect(again.planned).toEqual([]);
    expect(again.totals.dates).toBe(0);
    expect(await dumpOwned(session)).toEqual(after);
    expect(await historyCount(session)).toBe(runsAfter);
    return plan;
  }

  beforeAll(async () => {
    baseline = await kind.fresh();
    await withSession(baseline, original, async (session) => {
      const started = performance.now();
      await session.daily(DATES);
      const seconds = (performance.now() - started) / 1000;
      figures.push(
        `[${kind.name}] baseline: ${DATES.length} daily runs of ${versions(original)}, ${seconds.toFixed(1)} s`,
      );
      baselineDump = await dumpOwned(session);
      baselineHistory = await historyCount(session);
    });
  });

  afterAll(() => kind.dispose());

  it('keeps the daily history it starts from complete: every date, every stage, once', () => {
    expect(baselineHistory).toBe(DATES.length * original.stages.length);
    for (const table of OWNED_TABLES) expect(baselineDump[table].length).toBeGreaterThan(0);
  });

  it.each([
    ['the first stage (ingest)', withIngestV2, 'ingest'],
    ['a middle stage (transform)', withTransformV2, 'transform'],
    ['the rolling stage', withRollingV2, 'rolling'],
    ['the last stage (publish)', withPublishV2, 'publish'],
  ] as const)(
    'after a change to %s, reruns every date from that stage and leaves the tables as a from-scratch run of the new code',
    async (scenario, code, changed) => {
      const store = await kind.copy(baseline);
      await withSession(store, code, async (session) => {
        const plan = await backfillTwice(session, `change ${scenario}`);

        expect(plan.planned).toEqual(DATES.map((date) => [date, changed]));
        const stagesPerDate = original.stages.length - original.indexOf(changed);
        expect(plan.totals).toEqual({
          dates: DATES.length,
          stageRuns: DATES.length * stagesPerDate,
          fullRerunStageRuns: DATES.length * original.stages.length,
        });
        const after = await dumpOwned(session);
        expect(after).not.toEqual(baselineDump); // the change is real
        expect(after).toEqual(await fromScratch(code));
      });
    },
  );

  it('after a bump of transform then of aggregate, the second backfill reruns from aggregate and reuses ingest and transform (A1 → B2 kept)', async () => {
    const store = await kind.copy(baseline);
    await withSession(store, withTransformV2, async (session) => {
      const plan = await backfillTwice(session, 'seed: transform 1 → 2');
      expect(plan.planned).toEqual(DATES.map((date) => [date, 'transform']));
      expect(await dumpOwned(session)).toEqual(await fromScratch(withTransformV2));
    });

    await withSession(store, withTransformAndAggregateV2, async (session) => {
      const kept = await runIds(session, ['ingest', 'transform']);
      expect(Object.keys(kept)).toHaveLength(DATES.length * 2);

      const plan = await backfillTwice(session, 'seed: then aggregate 1 → 2');

      expect(plan.planned).toEqual(DATES.map((date) => [date, 'aggregate']));
      expect(plan.totals.stageRuns).toBe(DATES.length * 3);
      expect(await runIds(session, ['ingest', 'transform'])).toEqual(kept);
      const ledger = await readLedger(session.services.deps.sql);
      for (const row of ledger.filter((entry) => entry.stage === 'publish')) {
        expect(row.lineage).toEqual({ ingest: 1, transform: 2, aggregate: 2, rolling: 1 });
      }
      expect(await dumpOwned(session)).toEqual(await fromScratch(withTransformAndAggregateV2));
    });
  });

  it('after a missing day, fills it from ingest and reruns rolling on the 6 dates whose window reads it', async () => {
    const missing = DATES[5];
    const store = await kind.fresh();
    await withSession(store, original, async (session) => {
      // The daily run refuses a date whose rolling window holds a missing date: the dates after the
      // gap come from an explicit backfill, which runs what it is told.
      await session.daily(DATES.filter((date) => date < missing));
      backfillOutput(
        await session.workflows.start('backfill', {
          from: addDays(missing, 1),
          to: LAST,
          startStage: 'ingest',
        }).done,
      );
      expect(await dumpOwned(session)).not.toEqual(await fromScratch(original));

      const plan = await backfillTwice(session, `missing day ${missing}`, { from: FIRST, to: LAST });

      expect(plan.planned).toEqual([
        [missing, 'ingest'],
        ...dateRange(addDays(missing, 1), addDays(missing, ROLLING_LOOKBACK)).map(
          (date): [IsoDate, string] => [date, 'rolling'],
        ),
      ]);
      expect(plan.totals.stageRuns).toBe(original.stages.length + ROLLING_LOOKBACK * 2);
      expect(await dumpOwned(session)).toEqual(await fromScratch(original));
    });
  });

  it('after a date is rerun by hand from transform, reruns rolling on the 6 later dates that read its old aggregate', async () => {
    const rerun = DATES[6];
    const store = await kind.copy(baseline);
    await withSession(store, original, async (session) => {
      const outcome = await session.workflows.start('backfill', {
        from: rerun,
        to: rerun,
        startStage: 'transform',
      }).done;
      expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { totals: { dates: 1, stageRuns: 4 } } });

      const plan = await backfillTwice(session, `manual rerun of ${rerun} from transform`);

      expect(plan.planned).toEqual(
        dateRange(addDays(rerun, 1), addDays(rerun, ROLLING_LOOKBACK)).map((date): [IsoDate, string] => [
          date,
          'rolling',
        ]),
      );
      expect(await dumpOwned(session)).toEqual(await fromScratch(original));
    });
  });
});
