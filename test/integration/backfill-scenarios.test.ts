/**
 * End to end, on the meters fixture pipeline, through the synthesized workflows and a real
 * database: after a code change, `backfill {"mode": "auto"}` leaves the stages' tables exactly as
 * if the new code had run every date from scratch, reruns only the (date, stage) pairs it must,
 * and a second auto backfill finds nothing to do.
 */
import { performance } from 'node:perf_hooks';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import { defineStage, type PipelineParams, type Stage } from '../../lambdas/engine/stage';
import { readHistory, readLedger } from '../../lambdas/ledger/ledger-store';
import type { BackfillPlanResult } from '../../lambdas/workflow/contracts';
import type { WorkflowDefinitions } from '../../lib/workflow-definitions';
import { pipeline as original } from '../fixtures/pipelines/meters';
import { collect } from '../fixtures/pipelines/meters/stages/collect';
import { report } from '../fixtures/pipelines/meters/stages/report';
import { summarize } from '../fixtures/pipelines/meters/stages/summarize';
import { trend } from '../fixtures/pipelines/meters/stages/trend';
import { validate } from '../fixtures/pipelines/meters/stages/validate';
import { dumpTables } from '../support/databases';
import {
  backfillOutput,
  type LocalSession,
  type LocalStore,
  localStoreKinds,
  plannedDates,
  withLocalSession,
} from '../support/local-stores';
import { testWorkflowDefinitions } from '../support/test-definitions';

const params: PipelineParams = { rowsPerDay: '200' };
const DATES = dateRange('2026-02-01', '2026-02-14');
const FIRST = DATES[0];
const LAST = DATES[DATES.length - 1];
const OWNED_TABLES = original.stages.flatMap((stage) => stage.owns);
const TREND_LOOKBACK = trend.lookbackDays;

// ---------------------------------------------------------------------------------------------
// The code changes: each a real change of what one stage computes, with its version bumped.

/** The fixture's stage list with some stages replaced by their next version. */
function withChanges(...changed: Stage[]): Pipeline {
  return definePipeline(original.stages.map((stage) => changed.find((c) => c.name === stage.name) ?? stage));
}

/** collect v2: the feed still sends a decommissioned meter, now dropped at load; kWh kept to the meters' 2 decimals. */
const collectV2 = defineStage({
  ...collect,
  version: collect.version + 1,
  run: async (context) => {
    const loaded = await collect.run(context);
    const { rowCount: dropped } = await context.sql.query(
      `DELETE FROM meter_readings WHERE day = $1::date AND meter_id = 'M07'`,
      [context.date],
    );
    await context.sql.query('UPDATE meter_readings SET kwh = round(kwh, 2) WHERE day = $1::date', [
      context.date,
    ]);
    return loaded - dropped;
  },
});

/** validate v2: kept readings are corrected by the meters' calibration factor (+2%). Keeps everything else v1 does. */
const validateV2 = defineStage({
  ...validate,
  version: validate.version + 1,
  run: async (context) => {
    const kept = await validate.run(context);
    await context.sql.query('UPDATE valid_readings SET kwh = round(kwh * 1.02, 3) WHERE day = $1::date', [
      context.date,
    ]);
    return kept;
  },
});

/** summarize v2: a single reading counts at most 4 kWh (the client's new rule for spikes). */
const summarizeV2 = defineStage({
  ...summarize,
  version: summarize.version + 1,
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO meter_daily (day, meter_id, readings, kwh)
       SELECT day, meter_id, count(*), sum(least(kwh, 4)) FROM valid_readings WHERE day = $1::date GROUP BY day, meter_id`,
      [date],
    );
    return rowCount;
  },
});

/** trend v2: the daily average is over the days present in the window, not always 7. */
const trendV2 = defineStage({
  ...trend,
  version: trend.version + 1,
  run: async ({ sql, date, windowStart }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO meter_trend (day, meter_id, days_in_window, kwh_day, kwh_7d, avg_daily_kwh)
       SELECT $1::date, meter_id, count(DISTINCT day),
              COALESCE(sum(kwh) FILTER (WHERE day = $1::date), 0), sum(kwh),
              round(sum(kwh) / count(DISTINCT day), 3)
       FROM meter_daily
       WHERE day BETWEEN $2::date AND $1::date
       GROUP BY meter_id`,
      [date, windowStart],
    );
    return rowCount;
  },
});

/** report v2: a day is a trend only beyond ±20% of the average (v1: ±10%). */
const reportV2 = defineStage({
  ...report,
  version: report.version + 1,
  run: async ({ sql, date }) => {
    const { rowCount } = await sql.query(
      `INSERT INTO usage_report (day, meter_id, rank, kwh_day, kwh_7d, trend)
       SELECT day, meter_id, rank() OVER (ORDER BY kwh_7d DESC, meter_id), kwh_day, kwh_7d,
              CASE WHEN kwh_day > avg_daily_kwh * 1.2 THEN 'up'
                   WHEN kwh_day < avg_daily_kwh * 0.8 THEN 'down' ELSE 'flat' END
       FROM meter_trend WHERE day = $1::date`,
      [date],
    );
    return rowCount;
  },
});

const withCollectV2 = withChanges(collectV2);
const withValidateV2 = withChanges(validateV2);
const withTrendV2 = withChanges(trendV2);
const withReportV2 = withChanges(reportV2);
const withValidateAndSummarizeV2 = withChanges(validateV2, summarizeV2);

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
  definitions = testWorkflowDefinitions('backfill-scenarios', original);
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
    ['the first stage (collect)', withCollectV2, 'collect'],
    ['a middle stage (validate)', withValidateV2, 'validate'],
    ['the windowed stage (trend)', withTrendV2, 'trend'],
    ['the last stage (report)', withReportV2, 'report'],
  ] as const)(
    'after a change to %s, reruns every date from that stage and leaves the tables as a from-scratch run of the new code',
    async (scenario, code, changed) => {
      const store = await kind.copy(baseline);
      await withSession(store, code, async (session) => {
        // The stages upstream of the change do not rerun: their outputs keep their run ids.
        const upstream = original.names.slice(0, original.indexOf(changed));
        const kept = await runIds(session, upstream);
        expect(Object.keys(kept)).toHaveLength(DATES.length * upstream.length);

        const plan = await backfillTwice(session, `change ${scenario}`);

        expect(plan.planned).toEqual(DATES.map((date) => [date, changed]));
        expect(await runIds(session, upstream)).toEqual(kept);
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

  it('after a bump of validate then of summarize, the second backfill reruns from summarize and reuses collect and validate (A1 → B2 kept)', async () => {
    const store = await kind.copy(baseline);
    await withSession(store, withValidateV2, async (session) => {
      const plan = await backfillTwice(session, 'seed: validate 1 → 2');
      expect(plan.planned).toEqual(DATES.map((date) => [date, 'validate']));
      expect(await dumpOwned(session)).toEqual(await fromScratch(withValidateV2));
    });

    await withSession(store, withValidateAndSummarizeV2, async (session) => {
      const kept = await runIds(session, ['collect', 'validate']);
      expect(Object.keys(kept)).toHaveLength(DATES.length * 2);

      const plan = await backfillTwice(session, 'seed: then summarize 1 → 2');

      expect(plan.planned).toEqual(DATES.map((date) => [date, 'summarize']));
      expect(plan.totals.stageRuns).toBe(DATES.length * 3);
      expect(await runIds(session, ['collect', 'validate'])).toEqual(kept);
      const ledger = await readLedger(session.services.deps.sql);
      const reports = ledger.filter((entry) => entry.stage === 'report');
      expect(reports).toHaveLength(DATES.length);
      for (const row of reports) {
        expect(row.lineage).toEqual({ collect: 1, validate: 2, summarize: 2, trend: 1 });
      }
      expect(await dumpOwned(session)).toEqual(await fromScratch(withValidateAndSummarizeV2));
    });
  });

  it('after a missing day, fills it from collect and reruns trend on the 6 dates whose window reads it', async () => {
    const missing = DATES[5];
    const store = await kind.fresh();
    await withSession(store, original, async (session) => {
      // The daily run refuses a date whose trend window holds a missing date: the dates after the
      // gap come from an explicit backfill, which runs what it is told.
      await session.daily(DATES.filter((date) => date < missing));
      backfillOutput(
        await session.workflows.start('backfill', {
          from: addDays(missing, 1),
          to: LAST,
          startStage: 'collect',
        }).done,
      );
      expect(await dumpOwned(session)).not.toEqual(await fromScratch(original));

      const plan = await backfillTwice(session, `missing day ${missing}`, { from: FIRST, to: LAST });

      expect(plan.planned).toEqual([
        [missing, 'collect'],
        ...dateRange(addDays(missing, 1), addDays(missing, TREND_LOOKBACK)).map((date): [IsoDate, string] => [
          date,
          'trend',
        ]),
      ]);
      // The missing date runs every stage; each of the 6 later dates reruns trend and report.
      expect(plan.totals.stageRuns).toBe(original.stages.length + TREND_LOOKBACK * 2);
      expect(await dumpOwned(session)).toEqual(await fromScratch(original));
    });
  });

  it('after a date is rerun by hand from validate, reruns trend on the 6 later dates that read its old summarize', async () => {
    const rerun = DATES[6];
    const store = await kind.copy(baseline);
    await withSession(store, original, async (session) => {
      const outcome = await session.workflows.start('backfill', {
        from: rerun,
        to: rerun,
        startStage: 'validate',
      }).done;
      expect(outcome).toMatchObject({ status: 'SUCCEEDED', output: { totals: { dates: 1, stageRuns: 4 } } });

      const plan = await backfillTwice(session, `manual rerun of ${rerun} from validate`);

      expect(plan.planned).toEqual(
        dateRange(addDays(rerun, 1), addDays(rerun, TREND_LOOKBACK)).map((date): [IsoDate, string] => [
          date,
          'trend',
        ]),
      );
      expect(plan.totals.stageRuns).toBe(TREND_LOOKBACK * 2);
      expect(await dumpOwned(session)).toEqual(await fromScratch(original));
    });
  });
});
