import fc from 'fast-check';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import {
  assessDate,
  type BackfillPlan,
  dependencyConflicts,
  dependencyReadRange,
  indexLedger,
  planBackfill,
  planToJson,
  staleness,
} from '../../lambdas/engine/plan';
import { bump, chain, isFresh, SimulatedLedger } from './simulate';

const BASE = '2026-01-01';
const TODAY = '2026-04-01';
const RUNS = 250;

/** What happened, as data, so fast-check can print and shrink it; `build` replays it through the runner. */
interface Scenario {
  readonly lookbacks: readonly number[];
  readonly days: number;
  /** Daily runs in date order; a false day was skipped. */
  readonly dailies: readonly boolean[];
  /** Later manual runs and code changes, in any date order. */
  readonly events: readonly Event[];
  /** Code changes after the last run: what the plan has to catch up with. */
  readonly finalBumps: readonly number[];
  /** Offsets from BASE of the range asked for, or the ledger's whole span. */
  readonly range: { readonly from: number; readonly to: number } | null;
}

type Event =
  | { readonly kind: 'run'; readonly day: number; readonly start: number; readonly stop: number }
  | { readonly kind: 'bump'; readonly stage: number };

const scenarios: fc.Arbitrary<Scenario> = fc
  .record({
    lookbacks: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
    days: fc.integer({ min: 1, max: 20 }),
  })
  .chain(({ lookbacks, days }) =>
    fc.record({
      lookbacks: fc.constant(lookbacks),
      days: fc.constant(days),
      // Mostly-complete daily history, so plans are often partial rather than everything-missing.
      dailies: fc.array(
        fc.nat(9).map((n) => n > 0),
        { minLength: days, maxLength: days },
      ),
      events: fc.array(
        fc.oneof(
          fc.record({
            kind: fc.constant('run' as const),
            day: fc.integer({ min: 0, max: days - 1 }),
            start: fc.nat(lookbacks.length),
            stop: fc.nat(lookbacks.length),
          }),
          fc.record({ kind: fc.constant('bump' as const), stage: fc.nat(lookbacks.length) }),
        ),
        { maxLength: 25 },
      ),
      finalBumps: fc.array(fc.nat(lookbacks.length), { maxLength: 3 }),
      range: fc.option(
        fc
          .tuple(fc.integer({ min: -3, max: days + 2 }), fc.integer({ min: -3, max: days + 2 }))
          .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) })),
      ),
    }),
  );

function build(scenario: Scenario): { pipeline: Pipeline; ledger: SimulatedLedger } {
  let pipeline = chain([
    ['s0', 1, 0],
    ...scenario.lookbacks.map((lookback, i) => [`s${i + 1}`, 1, lookback] as const),
  ]);
  const ledger = new SimulatedLedger();
  const run = (day: number, start: number, stop: number) => {
    const date = addDays(BASE, day);
    // A run can only enter the chain where its input exists, as the runner insists.
    const firstMissing = pipeline.names.findIndex((name) => ledger.get(date, name) === undefined);
    const from = firstMissing < 0 ? start : Math.min(start, firstMissing);
    ledger.runStages(pipeline, date, pipeline.names.slice(from, Math.max(from, stop) + 1));
  };
  scenario.dailies.forEach((ran, day) => {
    if (ran) run(day, 0, pipeline.stages.length - 1);
  });
  for (const event of scenario.events) {
    if (event.kind === 'run') run(event.day, event.start, event.stop);
    else pipeline = bump(pipeline, pipeline.names[event.stage]);
  }
  for (const stage of scenario.finalBumps) pipeline = bump(pipeline, pipeline.names[stage]);
  return { pipeline, ledger };
}

function planOf(pipeline: Pipeline, ledger: SimulatedLedger, scenario: Scenario): BackfillPlan {
  const range =
    scenario.range === null
      ? {}
      : { from: addDays(BASE, scenario.range.from), to: addDays(BASE, scenario.range.to) };
  return planBackfill({
    pipeline,
    ledger: ledger.entries(),
    mode: 'auto',
    today: TODAY,
    maxDays: 366,
    ...range,
  });
}

/** The history start the plan used: the ledger's first date, or `from` when earlier. */
function historyStartOf(ledger: SimulatedLedger, plan: BackfillPlan): IsoDate | undefined {
  const earliest = ledger
    .entries()
    .map((entry) => entry.date)
    .sort()[0];
  if (plan.from === null) return earliest;
  return earliest === undefined || plan.from < earliest ? plan.from : earliest;
}

describe('Function: planBackfill (properties)', () => {
  it('is sufficient: once the plan has run, nothing in its range is stale', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        const plan = planOf(pipeline, ledger, scenario);

        // Act: the runner refuses a stage whose input is missing, so a bad order throws here.
        ledger.apply(pipeline, plan);

        // Assess: by the planner, and by the oracle that knows nothing of plans.
        expect(planOf(pipeline, ledger, scenario).dates).toEqual([]);
        if (plan.from === null || plan.to === null) return;
        for (const date of dateRange(plan.from, plan.to)) {
          for (const stage of pipeline.names)
            expect([date, stage, isFresh(ledger, pipeline, date, stage)]).toEqual([date, stage, true]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('is minimal: every planned (date, stage) is stale when the backfill reaches it', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        const plan = planOf(pipeline, ledger, scenario);
        const historyStart = historyStartOf(ledger, plan);

        // Act & Assess: leaving this run out would leave it stale.
        for (const { date, stages } of plan.dates) {
          for (const stage of stages) {
            const index = indexLedger(pipeline, ledger.entries());
            expect(staleness(index, date, stage, { historyStart })).not.toEqual([]);
            expect(isFresh(ledger, pipeline, date, stage)).toBe(false);
            ledger.runStage(pipeline, date, stage);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('walks dates in order, each from its first stale stage given the dates planned before it', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);

        // Act
        const plan = planOf(pipeline, ledger, scenario);

        // Assess
        if (plan.from === null || plan.to === null) return;
        const index = indexLedger(pipeline, ledger.entries());
        const historyStart = historyStartOf(ledger, plan);
        const byDate = new Map(plan.dates.map((date) => [date.date, date]));
        const planned = new Map<IsoDate, readonly string[]>();
        for (const date of dateRange(plan.from, plan.to)) {
          const expected = assessDate(index, date, { planned, historyStart });
          const got = byDate.get(date);
          expect(got?.startStage ?? null).toBe(expected.startStage);
          expect(got?.stages ?? []).toEqual(expected.stages);
          if (got !== undefined) {
            // A chain reruns the suffix from its start stage.
            expect(got.stages).toEqual(pipeline.names.slice(pipeline.indexOf(got.startStage)));
            planned.set(date, got.stages);
          }
        }
        const dates = plan.dates.map((date) => date.date);
        dates.slice(1).forEach((date, i) => {
          expect(date > dates[i]).toBe(true);
        });
        expect(plan.totals.stageRuns).toBe(plan.dates.reduce((sum, date) => sum + date.stages.length, 0));
      }),
      { numRuns: RUNS },
    );
  });

  it('is a fixpoint: the same ledger gives the same plan', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);

        // Act
        const first = planOf(pipeline, ledger, scenario);
        const second = planOf(pipeline, ledger, scenario);

        // Assess
        expect(second).toEqual(first);
        expect(JSON.stringify(planToJson(second))).toBe(JSON.stringify(planToJson(first)));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Function: dependencyConflicts (properties)', () => {
  it("from one bounded read, finds exactly the earlier dates a daily run reads that the whole ledger's auto plan reruns first", () => {
    fc.assert(
      fc.property(scenarios, fc.integer({ min: -3, max: 24 }), (scenario, offset) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        const date = addDays(BASE, offset);
        const entries = ledger.entries();
        const earliest = entries.map((entry) => entry.date).sort()[0];
        const range = dependencyReadRange(pipeline, date);
        const read = entries.filter(
          (entry) =>
            entry.date === earliest || (range !== null && entry.date >= range.from && entry.date <= range.to),
        );

        // Act
        const conflicts = dependencyConflicts(indexLedger(pipeline, read), date);

        // Assess: the auto plan of the whole ledger up to the day before, read as the design says.
        const yesterday = addDays(date, -1);
        const expected =
          earliest === undefined || yesterday < earliest
            ? []
            : planBackfill({
                pipeline,
                ledger: entries,
                mode: 'auto',
                from: earliest,
                to: yesterday,
                today: TODAY,
                maxDays: 366,
              }).dates.flatMap((planned) => {
                const start = pipeline.indexOf(planned.startStage);
                const ago = dateRange(planned.date, date).length - 1;
                const readBy = pipeline.stages
                  .filter((stage, i) => stage.lookbackDays >= ago && start < i)
                  .map((stage) => stage.name);
                return readBy.length === 0
                  ? []
                  : [
                      {
                        date: planned.date,
                        startStage: planned.startStage,
                        stages: planned.stages,
                        reasons: planned.reasons,
                        readBy,
                      },
                    ];
              });
        expect(conflicts).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});
