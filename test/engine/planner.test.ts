import { dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import {
  assessDate,
  assessRange,
  type BackfillPlan,
  formatPlan,
  indexLedger,
  type PlanBackfillRequest,
  parseBackfillInput,
  planBackfill,
  planToJson,
  staleness,
} from '../../lambdas/engine/plan';
import { bump, chain, SimulatedLedger } from './simulate';

const TODAY = '2026-03-01';
const MAX_DAYS = 366;
const STAGES = 'collect, validate, summarize, trend, report';

/** The meters fixture's shape (test/fixtures/pipelines/meters): A → B → C → D (7-day window) → E. */
const METERS = chain([
  ['collect', 1, 0],
  ['validate', 1, 0],
  ['summarize', 1, 0],
  ['trend', 1, 6],
  ['report', 1, 0],
]);

/** Daily runs of the whole chain for every date of the range, in order, except `skip`. */
function history(
  pipeline: Pipeline,
  from: IsoDate,
  to: IsoDate,
  skip: readonly IsoDate[] = [],
): SimulatedLedger {
  const ledger = new SimulatedLedger();
  for (const date of dateRange(from, to)) if (!skip.includes(date)) ledger.runFrom(pipeline, date, 'collect');
  return ledger;
}

function plan(
  pipeline: Pipeline,
  ledger: SimulatedLedger,
  extra: Partial<Omit<PlanBackfillRequest, 'pipeline' | 'ledger'>> = {},
): BackfillPlan {
  return planBackfill({
    pipeline,
    ledger: ledger.entries(),
    mode: 'auto',
    today: TODAY,
    maxDays: MAX_DAYS,
    ...extra,
  });
}

const starts = (p: BackfillPlan) => p.dates.map(({ date, startStage }) => `${date} ${startStage}`);

describe('Function: planBackfill', () => {
  describe('Mode: auto', () => {
    it('plans nothing when the ledger matches the code', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(METERS, ledger);

      // Assess
      expect(result).toEqual({
        mode: 'auto',
        from: '2026-01-01',
        to: '2026-01-14',
        dates: [],
        skipped: 14,
        totals: { dates: 0, stageRuns: 0, fullRerunStageRuns: 70 },
      });
      expect(formatPlan(result, METERS)).toBe(
        'Nothing to do: every date in 2026-01-01 .. 2026-01-14 is fresh.',
      );
    });

    it('reruns every date from the changed stage, and reuses upstream data on the next change', () => {
      // Prepare: A1 → B1 → C1 → D1 → E1 recorded, then B goes to 2.
      const ledger = history(METERS, '2026-01-01', '2026-01-14');
      const v2 = bump(METERS, 'validate');

      // Act
      const first = plan(v2, ledger);

      // Assess
      expect(first.dates).toHaveLength(14);
      expect(first.dates[0]).toEqual({
        date: '2026-01-01',
        startStage: 'validate',
        stages: ['validate', 'summarize', 'trend', 'report'],
        reasons: [
          { kind: 'code-stale', stage: 'validate', changes: [{ stage: 'validate', recorded: 1, code: 2 }] },
        ],
        transitions: [],
      });
      expect(new Set(first.dates.map((d) => d.startStage))).toEqual(new Set(['validate']));
      expect(first.totals).toEqual({ dates: 14, stageRuns: 56, fullRerunStageRuns: 70 });
      expect(formatPlan(first, v2)).toBe(
        [
          'Backfill plan (auto) for 2026-01-01 .. 2026-01-14: 14 dates to rerun, 0 fresh and skipped.',
          '  2026-01-01 .. 2026-01-14  (14 dates)  from validate: validate → summarize → trend → report',
          '      why: code changed: validate v1 → v2',
          'Totals: 14 dates, 56 stage-runs; a full rerun is 70 stage-runs (14 dates × 5 stages): saves 20% of a full rerun.',
        ].join('\n'),
      );

      // Act: carry the plan out, then C goes to 3.
      ledger.apply(v2, first);
      const v3 = bump(v2, 'summarize', 3);
      const upstream = () => ledger.entries().filter((e) => e.stage === 'collect' || e.stage === 'validate');
      const before = upstream();
      const second = plan(v3, ledger);
      ledger.apply(v3, second);

      // Assess: C only; A1 and B2 rows are reused as they are.
      expect(starts(second)).toEqual(dateRange('2026-01-01', '2026-01-14').map((d) => `${d} summarize`));
      expect(second.dates[0].reasons).toEqual([
        { kind: 'code-stale', stage: 'summarize', changes: [{ stage: 'summarize', recorded: 1, code: 3 }] },
      ]);
      expect(upstream()).toEqual(before);
      expect(ledger.get('2026-01-14', 'summarize')?.lineage).toEqual({ collect: 1, validate: 2 });
      expect(plan(v3, ledger).dates).toEqual([]);
    });

    it('reruns a missing day from the first stage, and the later dates whose window reads it', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14', ['2026-01-07']);

      // Act
      const result = plan(METERS, ledger);

      // Assess
      expect(starts(result)).toEqual([
        '2026-01-07 collect',
        ...dateRange('2026-01-08', '2026-01-13').map((d) => `${d} trend`),
      ]);
      expect(result.dates[0].reasons).toEqual([{ kind: 'missing', stage: 'collect' }]);
      expect(result.dates[1].reasons).toEqual([
        {
          kind: 'input-stale',
          stage: 'trend',
          input: 'summarize',
          inputDate: '2026-01-07',
          change: 'planned',
          recordedRunId: null,
          currentRunId: null,
        },
      ]);
      expect(formatPlan(result, METERS)).toBe(
        [
          'Backfill plan (auto) for 2026-01-01 .. 2026-01-14: 7 dates to rerun, 7 fresh and skipped.',
          '  2026-01-07                (1 date)  from collect: collect → validate → summarize → trend → report',
          '      why: collect has not run',
          '  2026-01-08 .. 2026-01-13  (6 dates)  from trend: trend → report',
          '      why: input of trend changed: summarize reruns first',
          'Totals: 7 dates, 17 stage-runs; a full rerun is 70 stage-runs (14 dates × 5 stages): saves 75% of a full rerun.',
        ].join('\n'),
      );
    });

    it('plans the due dates after the ledger as missing: a daily run that wrote nothing is not forgotten', () => {
      // Prepare: the daily runs for 01-15 and 01-16 were started, and wrote nothing
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(METERS, ledger, { due: { from: '2026-01-01', to: '2026-01-16' } });

      // Assess
      expect(result).toMatchObject({ from: '2026-01-01', to: '2026-01-16' });
      expect(starts(result)).toEqual(['2026-01-15 collect', '2026-01-16 collect']);
      expect(result.dates[0].reasons).toEqual([{ kind: 'missing', stage: 'collect' }]);
    });

    it('plans due dates on an empty ledger, and never past yesterday', () => {
      // Act
      const result = plan(METERS, new SimulatedLedger(), { due: { from: '2026-02-27', to: '2026-03-05' } });

      // Assess: today is 2026-03-01
      expect(starts(result)).toEqual(['2026-02-27 collect', '2026-02-28 collect']);
    });

    it('keeps a given range over the due dates', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(METERS, ledger, {
        to: '2026-01-14',
        due: { from: '2026-01-01', to: '2026-01-20' },
      });

      // Assess
      expect(result.dates).toEqual([]);
    });

    it('summarises a plan of many runs in its first ones, saying how many more there are', () => {
      // Prepare: a missed day every ten days, each followed by the trend window it feeds
      const ledger = history(METERS, '2026-01-01', '2026-03-31', ['2026-01-11', '2026-01-21', '2026-01-31']);

      // Act
      const result = plan(METERS, ledger);
      const summary = formatPlan(result, METERS, { maxRuns: 2 });

      // Assess: six runs, two shown
      expect(summary.split('\n')).toEqual([
        'Backfill plan (auto) for 2026-01-01 .. 2026-03-31: 21 dates to rerun, 69 fresh and skipped.',
        '  2026-01-11                (1 date)  from collect: collect → validate → summarize → trend → report',
        '      why: collect has not run',
        '  2026-01-12 .. 2026-01-17  (6 dates)  from trend: trend → report',
        '      why: input of trend changed: summarize reruns first',
        '  … and 4 more runs of dates (14 dates, 2026-01-21 on); `hindsight plan` shows them all',
        'Totals: 21 dates, 51 stage-runs; a full rerun is 450 stage-runs (90 dates × 5 stages): saves 88% of a full rerun.',
      ]);
      expect(formatPlan(result, METERS, { maxRuns: 6 })).toBe(formatPlan(result, METERS));
    });

    it('after a manual rerun of one early stage, reruns the rest of that date and the lookback consumers after it', () => {
      // Prepare: someone reran validate alone for 2026-01-05.
      const ledger = history(METERS, '2026-01-01', '2026-01-14');
      const old = ledger.get('2026-01-05', 'validate')!.runId;
      const rerun = ledger.runStage(METERS, '2026-01-05', 'validate').runId;

      // Act
      const result = plan(METERS, ledger);

      // Assess
      expect(starts(result)).toEqual([
        '2026-01-05 summarize',
        ...dateRange('2026-01-06', '2026-01-11').map((d) => `${d} trend`),
      ]);
      expect(result.dates[0].reasons).toEqual([
        {
          kind: 'input-stale',
          stage: 'summarize',
          input: 'validate',
          inputDate: '2026-01-05',
          change: 'rerun',
          recordedRunId: old,
          currentRunId: rerun,
        },
      ]);
    });

    it('reruns every date from a changed window stage only', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(bump(METERS, 'trend'), ledger);

      // Assess
      expect(new Set(result.dates.map((d) => d.startStage))).toEqual(new Set(['trend']));
      expect(result.totals).toEqual({ dates: 14, stageRuns: 28, fullRerunStageRuns: 70 });
      expect(formatPlan(result, METERS)).toContain('saves 60% of a full rerun');
    });

    it('does not plan dates before from: a window reaching there uses ledger facts only', () => {
      // Prepare: 2026-01-07 is missing, but outside the range asked for.
      const gap = history(METERS, '2026-01-01', '2026-01-14', ['2026-01-07']);
      // summarize was rerun for 2026-01-05, also outside the range: its consumers' run ids differ.
      const rerun = history(METERS, '2026-01-01', '2026-01-14');
      rerun.runStage(METERS, '2026-01-05', 'summarize');

      // Act
      const gapPlan = plan(METERS, gap, { from: '2026-01-08' });
      const rerunPlan = plan(METERS, rerun, { from: '2026-01-08' });

      // Assess
      expect(gapPlan.dates).toEqual([]);
      expect(gapPlan.totals.fullRerunStageRuns).toBe(35);
      expect(starts(rerunPlan)).toEqual(dateRange('2026-01-08', '2026-01-11').map((d) => `${d} trend`));
      expect(rerunPlan.dates[0].reasons).toMatchObject([{ inputDate: '2026-01-05', change: 'rerun' }]);
    });

    it('does not check inputs before the ledger starts, so purged history leaves the first dates fresh', () => {
      // Prepare: rows before 2026-01-05 were purged; trend on later dates had read them.
      const ledger = history(METERS, '2026-01-01', '2026-01-14');
      const purged = ledger.entries().filter((entry) => entry.date >= '2026-01-05');
      // One input read inside the kept history is gone too.
      const withHole = purged.filter(
        (entry) => !(entry.date === '2026-01-06' && entry.stage === 'summarize'),
      );

      // Act
      const clean = planBackfill({
        pipeline: METERS,
        ledger: purged,
        mode: 'auto',
        today: TODAY,
        maxDays: MAX_DAYS,
      });
      const holed = planBackfill({
        pipeline: METERS,
        ledger: withHole,
        mode: 'auto',
        from: '2026-01-07',
        today: TODAY,
        maxDays: MAX_DAYS,
      });

      // Assess
      expect(clean).toMatchObject({ from: '2026-01-05', dates: [] });
      expect(starts(holed)).toEqual(dateRange('2026-01-07', '2026-01-12').map((d) => `${d} trend`));
      expect(holed.dates[0].reasons).toMatchObject([
        { inputDate: '2026-01-06', change: 'removed', currentRunId: null },
      ]);
    });

    it('plans dates after the ledger when to reaches them', () => {
      // Prepare: the last daily runs never happened.
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(METERS, ledger, { from: '2026-01-10', to: '2026-01-16' });

      // Assess
      expect(starts(result)).toEqual(['2026-01-15 collect', '2026-01-16 collect']);
      expect(result.skipped).toBe(5);
    });

    it('plans nothing on an empty ledger without a range', () => {
      // Act
      const result = plan(METERS, new SimulatedLedger());

      // Assess
      expect(result).toMatchObject({ from: null, to: null, dates: [] });
      expect(formatPlan(result, METERS)).toBe('Nothing to do: the ledger is empty and no range was given.');
    });

    it('plans a ledger longer than maxDays when the dates it reruns fit in maxDays', () => {
      // Prepare: 14 days of history, the last 3 missing their last stage
      const ledger = history(METERS, '2026-01-01', '2026-01-11');
      for (const date of ['2026-01-12', '2026-01-13', '2026-01-14']) {
        ledger.runStages(METERS, date, METERS.names.slice(0, -1));
      }

      // Act
      const result = plan(METERS, ledger, { maxDays: 10 });

      // Assess
      expect(result).toMatchObject({ from: '2026-01-01', to: '2026-01-14', skipped: 11 });
      expect(starts(result)).toEqual(['2026-01-12 report', '2026-01-13 report', '2026-01-14 report']);
    });

    it('refuses when no range is given and the dates to rerun span more than maxDays', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act & Assess
      expect(() => plan(bump(METERS, 'summarize'), ledger, { maxDays: 10 })).toThrow(
        new InvalidInputError([
          {
            field: 'from',
            value: undefined,
            accepted:
              'a date: without it, auto mode reruns dates from 2026-01-01 to 2026-01-14 (14 days), ' +
              'more than the maximum of 10 days one backfill covers; backfill it in parts, the first ' +
              'with from 2026-01-01 and to 2026-01-10',
          },
        ]),
      );
    });
  });

  describe('Mode: explicit', () => {
    it('plans every date of the range from the start stage', () => {
      // Prepare
      const ledger = history(METERS, '2026-01-01', '2026-01-14');

      // Act
      const result = plan(METERS, ledger, {
        mode: 'explicit',
        from: '2026-01-03',
        to: '2026-01-05',
        startStage: 'summarize',
      });

      // Assess
      expect(starts(result)).toEqual([
        '2026-01-03 summarize',
        '2026-01-04 summarize',
        '2026-01-05 summarize',
      ]);
      expect(result.dates[0]).toEqual({
        date: '2026-01-03',
        startStage: 'summarize',
        stages: ['summarize', 'trend', 'report'],
        reasons: [{ kind: 'requested', stage: 'summarize' }],
        transitions: [],
      });
      expect(result.totals).toEqual({ dates: 3, stageRuns: 9, fullRerunStageRuns: 15 });
    });

    it('refuses a start stage whose input has not run on a date of the range', () => {
      // Prepare: the daily run of 2026-01-04 stopped after collect.
      const ledger = history(METERS, '2026-01-01', '2026-01-14', ['2026-01-04']);
      ledger.runStage(METERS, '2026-01-04', 'collect');

      // Act & Assess
      expect(() =>
        plan(METERS, ledger, {
          mode: 'explicit',
          from: '2026-01-01',
          to: '2026-01-14',
          startStage: 'summarize',
        }),
      ).toThrow(
        'Invalid startStage: got "summarize"; expected a stage whose inputs have run on every date of the range, ' +
          'but summarize reads validate, which has not run for 2026-01-04: start from validate (or a stage upstream ' +
          'of it), or use mode "auto", which plans this for you.',
      );
    });
  });

  it('gives the same plan twice over the same ledger, and JSON with a stable key order', () => {
    // Prepare
    const ledger = history(METERS, '2026-01-01', '2026-01-14', ['2026-01-07']);

    // Act
    const json = planToJson(plan(METERS, ledger));

    // Assess
    expect(json).toEqual(plan(METERS, ledger));
    expect(Object.keys(json)).toEqual(['mode', 'from', 'to', 'dates', 'skipped', 'totals']);
    expect(Object.keys(json.dates[1])).toEqual(['date', 'startStage', 'stages', 'reasons', 'transitions']);
    expect(Object.keys(json.dates[1].reasons[0])).toEqual([
      'kind',
      'stage',
      'input',
      'inputDate',
      'change',
      'recordedRunId',
      'currentRunId',
    ]);
  });

  it('plans ten years of five stages', () => {
    // Prepare
    const ledger = history(METERS, '2016-01-01', '2025-12-31');

    // Act
    const result = plan(bump(METERS, 'summarize'), ledger, { maxDays: 4000 });

    // Assess
    expect(result.totals).toEqual({ dates: 3653, stageRuns: 3653 * 3, fullRerunStageRuns: 3653 * 5 });
  });
});

describe('Function: staleness', () => {
  it('says why one (date, stage) is stale, with and without what is planned before it', () => {
    // Prepare
    const index = indexLedger(METERS, history(METERS, '2026-01-01', '2026-01-14', ['2026-01-07']).entries());

    // Act & Assess
    expect(staleness(index, '2026-01-07', 'validate')).toEqual([{ kind: 'missing', stage: 'validate' }]);
    expect(staleness(index, '2026-01-08', 'trend')).toEqual([]);
    expect(
      staleness(index, '2026-01-08', 'trend', { planned: new Map([['2026-01-07', METERS.names]]) }),
    ).toMatchObject([{ kind: 'input-stale', inputDate: '2026-01-07', change: 'planned' }]);
    expect(assessDate(index, '2026-01-07')).toEqual({
      date: '2026-01-07',
      startStage: 'collect',
      stages: METERS.names,
      reasons: [{ kind: 'missing', stage: 'collect' }],
    });
    expect(assessDate(index, '2026-01-08').startStage).toBeNull();
  });

  it('names the upstream versions a lineage differs in', () => {
    // Prepare
    const index = indexLedger(METERS, history(METERS, '2026-01-01', '2026-01-02').entries());
    const changed = indexLedger(
      bump(METERS, 'collect'),
      index.byStage.flatMap((byDate) => [...byDate.values()]),
    );

    // Act & Assess
    expect(staleness(changed, '2026-01-02', 'trend')).toEqual([
      { kind: 'code-stale', stage: 'trend', changes: [{ stage: 'collect', recorded: 1, code: 2 }] },
    ]);
  });
});

describe('Function: assessRange', () => {
  it('colours the grid as the plan sees it', () => {
    // Prepare
    const index = indexLedger(METERS, history(METERS, '2026-01-01', '2026-01-14', ['2026-01-07']).entries());

    // Act
    const grid = assessRange(index, '2026-01-06', '2026-01-08');

    // Assess
    expect(grid.map((row) => [row.date, row.startStage, ...row.cells.map((cell) => cell.state)])).toEqual([
      ['2026-01-06', null, 'fresh', 'fresh', 'fresh', 'fresh', 'fresh'],
      ['2026-01-07', 'collect', 'missing', 'missing', 'missing', 'missing', 'missing'],
      ['2026-01-08', 'trend', 'fresh', 'fresh', 'fresh', 'stale', 'stale'],
    ]);
  });
});

describe('Function: parseBackfillInput', () => {
  const parse = (raw: unknown, maxDays = 31) => parseBackfillInput(raw, METERS, TODAY, maxDays);
  const refusal = (raw: unknown, maxDays = 31): string => {
    try {
      parse(raw, maxDays);
    } catch (error) {
      if (error instanceof InvalidInputError) return error.message;
      throw error;
    }
    throw new Error('expected an InvalidInputError');
  };

  it('accepts the console forms, defaulting mode from startStage', () => {
    expect(parse({})).toEqual({ mode: 'auto', dryRun: false });
    expect(parse({ mode: 'auto', from: '2026-01-01', to: '2026-01-31', dryRun: true })).toEqual({
      mode: 'auto',
      from: '2026-01-01',
      to: '2026-01-31',
      dryRun: true,
    });
    expect(parse({ from: '2026-01-01', to: '2026-01-31', startStage: 'validate' })).toEqual({
      mode: 'explicit',
      from: '2026-01-01',
      to: '2026-01-31',
      stages: ['validate'],
      stagesField: 'startStage',
      dryRun: false,
    });
    expect(parse({ from: '2026-02-28', to: '2026-02-28' }, 1)).toMatchObject({ from: '2026-02-28' });
  });

  it('refuses a date that is not on the calendar', () => {
    expect(refusal({ from: '2026-02-30' })).toBe(
      'Invalid from: got "2026-02-30"; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31.',
    );
  });

  it('refuses to before from', () => {
    expect(refusal({ from: '2026-01-31', to: '2026-01-01' })).toBe(
      'Invalid to: got "2026-01-01"; expected a date on or after from (2026-01-31).',
    );
  });

  it('refuses an unknown stage, listing the stages', () => {
    expect(refusal({ from: '2026-01-01', to: '2026-01-02', startStage: 'transfrom' })).toBe(
      `Invalid startStage: got "transfrom"; expected one of ${STAGES}.`,
    );
  });

  it('refuses today and future dates', () => {
    expect(refusal({ mode: 'auto', from: '2026-02-20', to: TODAY })).toBe(
      'Invalid to: got "2026-03-01"; expected a date up to yesterday, 2026-02-28 (today and later have not happened yet).',
    );
    expect(refusal({ from: '2027-01-01' })).toBe(
      'Invalid from: got "2027-01-01"; expected a date up to yesterday, 2026-02-28 (today and later have not happened yet).',
    );
  });

  it('refuses a range longer than maxDays', () => {
    expect(refusal({ from: '2026-01-01', to: '2026-02-01' })).toBe(
      'Invalid to: got "2026-02-01"; expected a date up to 2026-01-31: a backfill covers at most 31 days ' +
        'from 2026-01-01; split a longer one.',
    );
  });

  it('refuses explicit mode without its range', () => {
    expect(refusal({ startStage: 'validate' })).toBe(
      [
        'Invalid from: got nothing; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31 ' +
          '(explicit mode needs from, to and startStage or stages).',
        'Invalid to: got nothing; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31 ' +
          '(explicit mode needs from, to and startStage or stages).',
      ].join('\n'),
    );
  });

  it('refuses explicit mode without a start stage', () => {
    expect(refusal({ mode: 'explicit', from: '2026-01-01', to: '2026-01-02' })).toBe(
      `Invalid startStage: got nothing; expected one of ${STAGES} (explicit mode needs from, to and startStage or stages).`,
    );
  });

  it('refuses a start stage in auto mode', () => {
    expect(refusal({ mode: 'auto', startStage: 'validate' })).toBe(
      'Invalid startStage: got "validate"; expected nothing in auto mode, which finds each date\'s stages ' +
        '(remove startStage, or set mode to "explicit").',
    );
  });

  it('refuses wrong types', () => {
    expect(refusal({ mode: 'full', from: 20260101, dryRun: 'yes' })).toBe(
      [
        'Invalid mode: got "full"; expected "auto" or "explicit".',
        'Invalid from: got 20260101; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31.',
        'Invalid dryRun: got "yes"; expected true or false.',
      ].join('\n'),
    );
  });

  it('refuses an unknown field', () => {
    expect(refusal({ mode: 'auto', colour: 'red' })).toBe(
      'Invalid colour: got "red"; expected only the fields mode, from, to, startStage, stages, dryRun.',
    );
  });

  it('refuses SQL and shell metacharacters in names and dates', () => {
    const range = { from: '2026-01-01', to: '2026-01-02' };
    expect(refusal({ ...range, startStage: "validate'; DROP TABLE meter_readings; --" })).toBe(
      `Invalid startStage: got "validate'; DROP TABLE meter_readings; --"; expected one of ${STAGES}.`,
    );
    expect(refusal({ ...range, startStage: '$(rm -rf /)' })).toBe(
      `Invalid startStage: got "$(rm -rf /)"; expected one of ${STAGES}.`,
    );
    expect(refusal({ from: '2026-01-01`reboot`' })).toBe(
      'Invalid from: got "2026-01-01`reboot`"; expected a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31.',
    );
  });

  it('refuses an input that is not an object', () => {
    const expected =
      'expected an object such as {"mode": "auto"} or ' +
      '{"from": "2026-01-01", "to": "2026-01-31", "startStage": "validate"}.';
    expect(refusal(null)).toBe(`Invalid input: got null; ${expected}`);
    expect(refusal(['auto'])).toBe(`Invalid input: got ["auto"]; ${expected}`);
  });

  it('refuses every problem at once', () => {
    // Act
    let problems: readonly string[] = [];
    try {
      parse({ from: '2026-02-30', to: '2026-13-01', startStage: 'nope', colour: 'red' });
    } catch (error) {
      if (error instanceof InvalidInputError) problems = error.problems.map((p) => p.field);
    }

    // Assess
    expect([...problems].sort()).toEqual(['colour', 'from', 'startStage', 'to']);
  });

  it('refuses the same input in planBackfill with the same words', () => {
    const ledger = history(METERS, '2026-01-01', '2026-01-14');
    expect(() => plan(METERS, ledger, { to: '2026-03-01' })).toThrow(
      'Invalid to: got "2026-03-01"; expected a date up to yesterday, 2026-02-28 (today and later have not happened yet).',
    );
  });
});
