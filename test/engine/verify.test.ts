/**
 * The pure part of verification: the input (refused with field, value and accepted form), the
 * seeded sample, which cells are recomputed (fresh only, by the rules `status` uses) and how a
 * report is put in words. No database: the ledger is simulated.
 */
import { addDays, dateRange } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import { definePipeline } from '../../lambdas/engine/pipeline';
import { indexLedger } from '../../lambdas/engine/plan';
import { defineStage } from '../../lambdas/engine/stage';
import {
  chooseCells,
  type DateVerification,
  formatVerifyReport,
  parseVerifyInput,
  sampleDates,
  VERIFY_DEFAULT_DAYS,
  verifyTotals,
} from '../../lambdas/engine/verify';
import { bump, chain, SimulatedLedger } from './simulate';

/** The meters fixture's shape: A → B → C → D (reads C over 6 earlier days) → E. */
const METERS = chain([
  ['collect', 1, 0],
  ['validate', 1, 0],
  ['summarize', 1, 0],
  ['trend', 1, 6],
  ['report', 1, 0],
]);
const TODAY = '2026-06-01';

function history(from: string, to: string): SimulatedLedger {
  const ledger = new SimulatedLedger();
  for (const date of dateRange(from, to)) ledger.runFrom(METERS, date, 'collect');
  return ledger;
}

describe('Function: parseVerifyInput', () => {
  const parse = (raw: unknown) => parseVerifyInput(raw, METERS, TODAY, 366);

  it('accepts {} and puts the stages in pipeline order', () => {
    expect(parse({})).toEqual({});
    expect(
      parse({ from: '2026-05-01', to: '2026-05-31', stages: ['trend', 'collect'], sample: 5, seed: 'a-1' }),
    ).toEqual({
      from: '2026-05-01',
      to: '2026-05-31',
      stages: ['collect', 'trend'],
      sample: 5,
      seed: 'a-1',
    });
  });

  it('refuses every bad field at once, naming field, value and accepted form', () => {
    expect(() =>
      parse({
        from: '2026-02-30',
        to: TODAY,
        stages: ['trend', 'trend', 'x; DROP TABLE'],
        sample: 1.5,
        seed: 'a b',
      }),
    ).toThrow(
      new InvalidInputError([
        {
          field: 'from',
          value: '2026-02-30',
          accepted: 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31',
        },
        {
          field: 'stages.2',
          value: 'x; DROP TABLE',
          accepted: 'one of collect, validate, summarize, trend, report',
        },
        {
          field: 'seed',
          value: 'a b',
          accepted: 'a seed of 1 to 32 letters, digits, - or _ (the one a sampled verify printed)',
        },
        { field: 'sample', value: 1.5, accepted: 'a whole number of dates from 1 to 366' },
        {
          field: 'to',
          value: TODAY,
          accepted: 'a date up to yesterday, 2026-05-31 (today and later have not happened yet)',
        },
      ]),
    );
  });

  it('refuses a repeated stage, an empty list, a seed without a sample, a reversed or too long range, a non-object', () => {
    expect(() => parse({ stages: ['trend', 'trend'] })).toThrow(
      'Invalid stages.1: got "trend"; expected each stage once.',
    );
    expect(() => parse({ stages: [] })).toThrow('Invalid stages: got []; expected at least one stage');
    expect(() => parse({ seed: 'abc' })).toThrow('Invalid seed: got "abc"; expected a seed only with sample');
    expect(() => parse({ from: '2026-05-10', to: '2026-05-01' })).toThrow(
      'Invalid to: got "2026-05-01"; expected a date on or after from (2026-05-10).',
    );
    expect(() => parse({ from: '2025-01-01', to: '2026-05-01' })).toThrow(
      'Invalid to: got "2026-05-01"; expected a date up to 2026-01-01: verify covers at most 366 days from 2025-01-01.',
    );
    expect(() => parse({ sample: 30, mode: 'auto' })).toThrow(
      'Invalid mode: got "auto"; expected only the fields from, to, stages, sample, seed.',
    );
    expect(() => parse([])).toThrow(
      'Invalid input: got []; expected an object such as {} (the last 30 dates)',
    );
  });
});

describe('Function: sampleDates', () => {
  const DATES = dateRange('2026-01-01', '2026-03-31');

  it('draws distinct dates, ascending, the same ones for the same seed and others for another', () => {
    const drawn = sampleDates(DATES, 10, 'seed-1');
    expect(drawn).toHaveLength(10);
    expect(new Set(drawn).size).toBe(10);
    expect([...drawn].sort()).toEqual(drawn);
    for (const date of drawn) expect(DATES).toContain(date);
    expect(sampleDates(DATES, 10, 'seed-1')).toEqual(drawn);
    expect(sampleDates(DATES, 10, 'seed-2')).not.toEqual(drawn);
  });

  it('takes every date when the sample is as large as the range', () => {
    expect(sampleDates(DATES.slice(0, 5), 30, 'x')).toEqual(DATES.slice(0, 5));
  });

  it('reaches every date of the range over many seeds (no date is never drawn)', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++)
      for (const date of sampleDates(DATES, 3, String(seed))) seen.add(date);
    expect(seen.size).toBe(DATES.length);
  });
});

describe('Function: chooseCells', () => {
  it('covers the last 30 dates of the ledger by default, every stage fresh', () => {
    // Prepare
    const index = indexLedger(METERS, history('2026-03-01', '2026-05-15').entries());

    // Act
    const selection = chooseCells(index, {});

    // Assess
    expect(selection).toMatchObject({
      from: addDays('2026-05-15', -(VERIFY_DEFAULT_DAYS - 1)),
      to: '2026-05-15',
      stages: METERS.names,
      sample: null,
      historyStart: '2026-03-01',
    });
    expect(selection.dates).toHaveLength(30);
    expect(selection.dates.every((date) => date.cells.every((cell) => cell.outcome === 'pending'))).toBe(
      true,
    );
  });

  it('reports stale and missing cells as such, by the rules status uses, and recomputes only fresh ones', () => {
    // Prepare: summarize v2 in the code; one date never ran past validate
    const ledger = history('2026-05-01', '2026-05-10');
    ledger.runFrom(METERS, '2026-05-11', 'collect');
    ledger.runStages(METERS, '2026-05-12', ['collect', 'validate']);
    const code = bump(METERS, 'summarize');

    // Act
    const selection = chooseCells(indexLedger(code, ledger.entries()), {
      from: '2026-05-11',
      to: '2026-05-12',
    });

    // Assess
    const states = selection.dates.map((date) =>
      date.cells.map((cell) => `${cell.stage}:${cell.outcome}`).join(' '),
    );
    expect(states).toEqual([
      'collect:pending validate:pending summarize:stale trend:stale report:stale',
      'collect:pending validate:pending summarize:missing trend:missing report:missing',
    ]);
  });

  it('draws the sample with the given seed and keeps only the chosen stages', () => {
    const index = indexLedger(METERS, history('2026-05-01', '2026-05-20').entries());
    const selection = chooseCells(index, { sample: 3, stages: ['trend'] }, 'drawn-here');
    expect(selection.sample).toEqual({ size: 3, of: 20, seed: 'drawn-here' });
    expect(selection.dates.map((date) => date.date)).toEqual(
      sampleDates(dateRange('2026-05-01', '2026-05-20'), 3, 'drawn-here'),
    );
    expect(selection.dates.map((date) => date.cells)).toEqual(
      Array.from({ length: 3 }, () => [{ stage: 'trend', outcome: 'pending' }]),
    );
    // A seed in the request wins over the one offered.
    expect(chooseCells(index, { sample: 3, seed: 'given' }, 'offered').sample?.seed).toBe('given');
  });

  it('skips a stage that is not verifiable, with its reason, whatever its state', () => {
    const code = definePipeline(
      METERS.stages.map((stage) =>
        stage.name === 'collect'
          ? defineStage({ ...stage, verifiable: false, unverifiableReason: 'reads an outside API' })
          : stage,
      ),
    );
    const selection = chooseCells(indexLedger(code, history('2026-05-01', '2026-05-02').entries()), {});
    expect(selection.dates[0].cells[0]).toEqual({
      stage: 'collect',
      outcome: 'skipped',
      reason: 'reads an outside API',
    });
  });

  it('has nothing to verify on an empty ledger', () => {
    expect(chooseCells(indexLedger(METERS, []), {})).toMatchObject({ from: null, to: null, dates: [] });
  });
});

describe('Function: definePipeline (verifiable)', () => {
  const stage = (extra: Record<string, unknown>) =>
    defineStage({
      name: 'source',
      version: 1,
      lookbackDays: 0,
      owns: [],
      description: 'd',
      run: async () => 0,
      ...extra,
    });

  it('accepts verifiable: false with a reason', () => {
    expect(
      definePipeline([stage({ verifiable: false, unverifiableReason: 'reads an API' })]).stages[0].verifiable,
    ).toBe(false);
  });

  it('refuses verifiable: false without a reason, and a reason without verifiable: false', () => {
    expect(() => definePipeline([stage({ verifiable: false })])).toThrow(
      'Invalid stages[0].unverifiableReason: got nothing; expected why verify cannot recompute the stage, one line of 1 to 200 characters (required with verifiable: false).',
    );
    expect(() => definePipeline([stage({ unverifiableReason: 'why' })])).toThrow(
      'Invalid stages[0].unverifiableReason: got "why"; expected nothing unless verifiable is false',
    );
  });
});

describe('Function: formatVerifyReport', () => {
  it('prints one line per date, the rows of a difference under it, the skipped stages and the totals', () => {
    // Prepare
    const dates: DateVerification[] = [
      {
        date: '2026-05-01',
        cells: [
          { stage: 'collect', outcome: 'skipped', reason: 'reads an outside API' },
          {
            stage: 'summarize',
            outcome: 'differs',
            tables: [
              {
                table: 'meter_daily',
                stored: 12,
                recomputed: 12,
                onlyStored: 1,
                onlyRecomputed: 1,
                examples: {
                  onlyStored: [{ day: '2026-05-01', meter_id: 'M01', kwh: '1.500' }],
                  onlyRecomputed: [{ day: '2026-05-01', meter_id: 'M01', kwh: '1.400' }],
                },
              },
            ],
          },
        ],
      },
      {
        date: '2026-05-02',
        cells: [
          { stage: 'collect', outcome: 'skipped', reason: 'reads an outside API' },
          { stage: 'summarize', outcome: 'stale', reasons: [], rewrittenMeanwhile: true },
        ],
      },
    ];

    // Act
    const text = formatVerifyReport({
      from: '2026-05-01',
      to: '2026-05-02',
      stages: ['collect', 'summarize'],
      sample: { size: 2, of: 30, seed: 'abc' },
      dates,
      totals: verifyTotals(dates),
    });

    // Assess
    expect(text.split('\n')).toEqual([
      'Verify 2026-05-01 .. 2026-05-02, stages collect, summarize: each cell recomputed in a transaction that was rolled back.',
      'Sample: 2 dates drawn from 30 with seed abc (the same seed draws the same dates).',
      'date        collect    summarize',
      '2026-05-01  skipped    differs',
      '    summarize on 2026-05-01, table meter_daily: 1 row only stored, 1 row only recomputed (12 stored, 12 recomputed)',
      '      only stored      {"day":"2026-05-01","meter_id":"M01","kwh":"1.500"}',
      '      only recomputed  {"day":"2026-05-01","meter_id":"M01","kwh":"1.400"}',
      '2026-05-02  skipped    stale',
      '    summarize on 2026-05-02 was rewritten while being verified (a run committed meanwhile): verify it again',
      'Skipped: collect is not verifiable (reads an outside API).',
      'Totals: 4 cells in 2 dates: 0 same, 1 differ, 0 failed; not verified: 1 stale, 0 missing, 2 skipped.',
      'Stale and missing cells are not compared: `hindsight plan` says why, a backfill makes them fresh.',
    ]);
  });

  it('says when there is nothing to verify', () => {
    const empty = { stages: [], sample: null, dates: [], totals: verifyTotals([]) };
    expect(formatVerifyReport({ ...empty, from: null, to: null })).toBe(
      'Nothing to verify: the ledger is empty.',
    );
    expect(formatVerifyReport({ ...empty, from: '2026-05-01', to: '2026-05-01' })).toBe(
      'Nothing to verify: no dates in 2026-05-01.',
    );
  });
});
