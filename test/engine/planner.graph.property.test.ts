import fc from 'fast-check';
import { pipeline as shop } from '../../examples/shop/index';
import { stages as shopStages } from '../../examples/shop/stages';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError, MissingInputError } from '../../lambdas/engine/errors';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import { type BackfillPlan, planBackfill } from '../../lambdas/engine/plan';
import type { Stage } from '../../lambdas/engine/stage';
import {
  bumpStage,
  dropInput,
  type GraphStageSpec,
  graph,
  graphSpecs,
  isFresh,
  removeStage,
  runWherePossible,
  SimulatedLedger,
} from './simulate';

const BASE = '2026-01-01';
const TODAY = '2026-04-01';
const MAX_DAYS = 366;
const MAX_STAGES = 8;
const MAX_DAYS_OF_HISTORY = 14;
const RUNS = 150;

/** A code change, naming stages by their index in the generated graph (s0, s1, …). */
type Change =
  | { readonly kind: 'bump'; readonly stage: number }
  | { readonly kind: 'remove'; readonly stage: number }
  | { readonly kind: 'unlink'; readonly stage: number; readonly input: number };

/** A code change, a manual run of some stages for one day, or an auto backfill of the whole ledger. */
type Event =
  | Change
  | { readonly kind: 'run'; readonly day: number; readonly stages: readonly boolean[] }
  | { readonly kind: 'backfill' };

/** What happened, as data, so fast-check can print and shrink it; `build` replays it through the runner. */
interface Scenario {
  readonly specs: readonly GraphStageSpec[];
  /** Daily runs in date order: which stages ran (a stage whose inputs did not run cannot run). */
  readonly dailies: readonly (readonly boolean[])[];
  /** Later manual runs, code changes and backfills, in any date order. */
  readonly events: readonly Event[];
  /** Code changes after the last run: what the plan has to catch up with. */
  readonly finalChanges: readonly Change[];
  /** Offsets from BASE of the range asked for, or the ledger's whole span. */
  readonly range: { readonly from: number; readonly to: number } | null;
  /** Picks a stage for the properties about one stage. */
  readonly pick: number;
}

const stageIndex = fc.nat(MAX_STAGES - 1);
const changes: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('bump' as const), stage: stageIndex }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), stage: stageIndex }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unlink' as const), stage: stageIndex, input: stageIndex }),
  },
);
// Mostly-complete daily history, so plans are often partial rather than everything-missing.
const mostly = fc.nat(9).map((n) => n > 0);
const stageMask = fc.array(mostly, { minLength: MAX_STAGES, maxLength: MAX_STAGES });

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  specs: graphSpecs({ maxStages: MAX_STAGES, maxLookback: 4 }),
  dailies: fc.array(stageMask, { minLength: 1, maxLength: MAX_DAYS_OF_HISTORY }),
  events: fc.array(
    fc.oneof(
      { weight: 1, arbitrary: changes },
      { weight: 1, arbitrary: fc.constant({ kind: 'backfill' as const }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('run' as const),
          day: fc.nat(MAX_DAYS_OF_HISTORY - 1),
          // A manual run is mostly of one or two stages.
          stages: fc.array(
            fc.nat(3).map((n) => n === 0),
            { minLength: MAX_STAGES, maxLength: MAX_STAGES },
          ),
        }),
      },
    ),
    { maxLength: 12 },
  ),
  // Often none, so the plan is about the history alone.
  finalChanges: fc.oneof(fc.constant([]), fc.array(changes, { minLength: 1, maxLength: 3 })),
  range: fc.option(
    fc
      .tuple(
        fc.integer({ min: -3, max: MAX_DAYS_OF_HISTORY + 2 }),
        fc.integer({ min: -3, max: MAX_DAYS_OF_HISTORY + 2 }),
      )
      .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) })),
  ),
  pick: fc.nat(),
});

/** The pipeline after one code change; a change naming a removed stage, or no valid pipeline, changes nothing. */
function change(pipeline: Pipeline, specs: readonly GraphStageSpec[], event: Change): Pipeline {
  const stage = specs[event.stage % specs.length].name;
  if (!pipeline.names.includes(stage)) return pipeline;
  switch (event.kind) {
    case 'bump':
      return bumpStage(pipeline, stage);
    case 'remove':
      return pipeline.names.length > 1 ? (removeStage(pipeline, stage) ?? pipeline) : pipeline;
    case 'unlink': {
      const inputs = pipeline.inputsOf(stage);
      if (inputs.length === 0) return pipeline;
      return dropInput(pipeline, stage, inputs[event.input % inputs.length].stage) ?? pipeline;
    }
  }
}

/** Replays the scenario: the same scenario always gives the same ledger, run ids included. */
function build(scenario: Scenario): { pipeline: Pipeline; ledger: SimulatedLedger } {
  const { specs } = scenario;
  let pipeline = graph(specs);
  const ledger = new SimulatedLedger();
  const chosen = (mask: readonly boolean[]) => specs.filter((_, i) => mask[i]).map((spec) => spec.name);
  const days = scenario.dailies.length;
  scenario.dailies.forEach((mask, day) => {
    runWherePossible(ledger, pipeline, addDays(BASE, day), chosen(mask));
  });
  for (const event of scenario.events) {
    if (event.kind === 'run')
      runWherePossible(ledger, pipeline, addDays(BASE, event.day % days), chosen(event.stages));
    else if (event.kind === 'backfill') ledger.apply(pipeline, autoPlan(pipeline, ledger, { range: null }));
    else pipeline = change(pipeline, specs, event);
  }
  for (const event of scenario.finalChanges) pipeline = change(pipeline, specs, event);
  return { pipeline, ledger };
}

function rangeOf(scenario: Pick<Scenario, 'range'>): { from?: IsoDate; to?: IsoDate } {
  return scenario.range === null
    ? {}
    : { from: addDays(BASE, scenario.range.from), to: addDays(BASE, scenario.range.to) };
}

function autoPlan(
  pipeline: Pipeline,
  ledger: SimulatedLedger,
  scenario: Pick<Scenario, 'range'>,
): BackfillPlan {
  return planBackfill({
    pipeline,
    ledger: ledger.entries(),
    mode: 'auto',
    today: TODAY,
    maxDays: MAX_DAYS,
    ...rangeOf(scenario),
  });
}

/** The (date, stage) cells of the range the oracle finds stale. */
function staleCells(ledger: SimulatedLedger, pipeline: Pipeline, from: IsoDate, to: IsoDate): string[] {
  return dateRange(from, to).flatMap((date) =>
    pipeline.names
      .filter((stage) => !isFresh(ledger, pipeline, date, stage))
      .map((stage) => `${date} ${stage}`),
  );
}

/** Run id of every ledger row, by `date stage`. */
function runIds(ledger: SimulatedLedger): Map<string, string> {
  return new Map(ledger.entries().map((entry) => [`${entry.date} ${entry.stage}`, entry.runId]));
}

describe('Function: planBackfill on stage graphs (properties)', () => {
  it('is sufficient: once the auto plan has run, every (date, stage) of its range is fresh', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        const plan = autoPlan(pipeline, ledger, scenario);

        // Act: the runner refuses a stage whose input of the date is missing, so a bad order throws here.
        ledger.apply(pipeline, plan);

        // Assess: by the oracle that knows nothing of plans.
        if (plan.from === null || plan.to === null) return;
        expect(staleCells(ledger, pipeline, plan.from, plan.to)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('is minimal: leaving out any one planned (date, stage) leaves something stale, or cannot run', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        const plan = autoPlan(pipeline, ledger, scenario);
        if (plan.from === null || plan.to === null) return;
        const { from, to } = plan;
        const cells = plan.dates.flatMap(({ date, stages }) => stages.map((stage) => ({ date, stage })));

        for (const left of cells) {
          // Act: the plan without that one cell, on the same history.
          const replay = build(scenario).ledger;
          let needed: string;
          try {
            for (const { date, stages } of plan.dates) {
              replay.runStages(
                pipeline,
                date,
                stages.filter((stage) => date !== left.date || stage !== left.stage),
              );
            }
            needed = staleCells(replay, pipeline, from, to).length > 0 ? 'stale' : 'all fresh';
          } catch (error) {
            if (!(error instanceof MissingInputError)) throw error;
            needed = 'an input is missing';
          }

          // Assess
          expect([left, needed]).not.toEqual([left, 'all fresh']);
        }
      }),
      { numRuns: Math.round(RUNS / 3) },
    );
  });

  it('walks dates in ascending order, each date in pipeline order, every planned stage after its planned inputs', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);

        // Act
        const plan = autoPlan(pipeline, ledger, scenario);

        // Assess
        const dates = plan.dates.map((date) => date.date);
        dates.slice(1).forEach((date, i) => {
          expect(date > dates[i]).toBe(true);
        });
        for (const { date, startStage, stages } of plan.dates) {
          if (plan.from !== null && plan.to !== null) expect(date >= plan.from && date <= plan.to).toBe(true);
          expect(stages.length).toBeGreaterThan(0);
          expect(startStage).toBe(stages[0]);
          const positions = stages.map((stage) => pipeline.indexOf(stage));
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
          expect(new Set(stages).size).toBe(stages.length);
          stages.forEach((stage, k) => {
            for (const { stage: input } of pipeline.inputsOf(stage)) {
              if (stages.includes(input)) expect(stages.indexOf(input)).toBeLessThan(k);
            }
          });
        }
        expect(plan.totals.stageRuns).toBe(plan.dates.reduce((sum, date) => sum + date.stages.length, 0));
      }),
      { numRuns: RUNS },
    );
  });

  it('is idempotent: once the auto plan has run, the next auto plan is empty', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        ledger.apply(pipeline, autoPlan(pipeline, ledger, scenario));

        // Act
        const second = autoPlan(pipeline, ledger, scenario);

        // Assess
        expect(second.dates).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('leaves siblings untouched: a bump reruns exactly the bumped stage and its downstream, nothing else', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        // Prepare: a caught-up ledger, then one stage's version raised.
        const { pipeline: before, ledger } = build(scenario);
        const caughtUp = autoPlan(before, ledger, scenario);
        ledger.apply(before, caughtUp);
        if (caughtUp.from === null || caughtUp.to === null) return;
        const bumped = before.names[scenario.pick % before.names.length];
        const pipeline = bumpStage(before, bumped);
        const downstream = pipeline.downstreamOf([bumped]);
        const was = runIds(ledger);

        // Act
        const plan = autoPlan(pipeline, ledger, scenario);
        ledger.apply(pipeline, plan);

        // Assess: every date of the range reruns exactly the downstream set, and no other run id moved.
        expect(plan.dates.map(({ date, stages }) => [date, stages])).toEqual(
          dateRange(caughtUp.from, caughtUp.to).map((date) => [date, downstream]),
        );
        const now = runIds(ledger);
        for (const [cell, runId] of was) {
          const [date, stage] = cell.split(' ');
          const rerun = downstream.includes(stage) && date >= caughtUp.from && date <= caughtUp.to;
          expect([cell, now.get(cell) === runId]).toEqual([cell, !rerun]);
        }
        expect(staleCells(ledger, pipeline, caughtUp.from, caughtUp.to)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('plans exactly stages: [X] and everything downstream of X on every date of an explicit range', () => {
    fc.assert(
      fc.property(scenarios, fc.boolean(), (scenario, catchUpFirst) => {
        // Prepare
        const { pipeline, ledger } = build(scenario);
        if (catchUpFirst) ledger.apply(pipeline, autoPlan(pipeline, ledger, scenario));
        const { from = BASE, to = addDays(BASE, scenario.dailies.length - 1) } = rangeOf(scenario);
        const requested = pipeline.names[scenario.pick % pipeline.names.length];
        const downstream = pipeline.downstreamOf([requested]);
        const explicit = (field: 'stages' | 'startStage') =>
          planBackfill({
            pipeline,
            ledger: ledger.entries(),
            mode: 'explicit',
            from,
            to,
            ...(field === 'stages' ? { stages: [requested] } : { startStage: requested }),
            today: TODAY,
            maxDays: MAX_DAYS,
          });

        // Act
        let plan: BackfillPlan;
        try {
          plan = explicit('stages');
        } catch (error) {
          // Assess: refused only when a stage of the set reads, outside it, a stage that did not run on a date.
          expect(error).toBeInstanceOf(InvalidInputError);
          const unrun = downstream.flatMap((stage) =>
            pipeline
              .inputsOf(stage)
              .filter(({ stage: input }) => !downstream.includes(input))
              .filter(({ stage: input }) =>
                dateRange(from, to).some((date) => ledger.get(date, input) === undefined),
              ),
          );
          expect(unrun).not.toEqual([]);
          // A caught-up range has every cell, so nothing is missing.
          expect(catchUpFirst && scenario.range !== null).toBe(false);
          return;
        }

        // Assess
        expect(plan.dates.map(({ date, startStage, stages }) => [date, startStage, stages])).toEqual(
          dateRange(from, to).map((date) => [date, downstream[0], downstream]),
        );
        expect(explicit('startStage').dates.map(({ stages }) => stages)).toEqual(
          plan.dates.map(({ stages }) => stages),
        );
        ledger.apply(pipeline, plan);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Function: planBackfill on the shop graph', () => {
  const FIRST = '2026-01-01';
  const LAST = '2026-03-01';

  /** Every stage of every date of [FIRST, LAST], as the daily runs leave it. */
  function shopHistory(): SimulatedLedger {
    const ledger = new SimulatedLedger();
    for (const date of dateRange(FIRST, LAST)) ledger.runStages(shop, date, shop.names);
    return ledger;
  }

  const auto = (pipeline: Pipeline, ledger: SimulatedLedger) =>
    planBackfill({ pipeline, ledger: ledger.entries(), mode: 'auto', today: TODAY, maxDays: MAX_DAYS });

  it('reruns only revenue_by_country when revenue_by_country is bumped', () => {
    // Prepare
    const ledger = shopHistory();
    const pipeline = bumpStage(shop, 'revenue_by_country');

    // Act
    const plan = auto(pipeline, ledger);

    // Assess
    expect(plan.dates.map(({ date, stages }) => [date, stages])).toEqual(
      dateRange(FIRST, LAST).map((date) => [date, ['revenue_by_country']]),
    );
  });

  it('reruns sessions and its readers on the dates sessions is bumped on, then daily_active_users for the 27 dates whose window reads them', () => {
    // Prepare: sessions v2 already ran (by an explicit backfill) from 2026-02-01 on; dates before have v1.
    const ledger = shopHistory();
    const pipeline = bumpStage(shop, 'sessions');
    ledger.apply(
      pipeline,
      planBackfill({
        pipeline,
        ledger: ledger.entries(),
        mode: 'explicit',
        from: '2026-02-01',
        to: LAST,
        stages: ['sessions'],
        today: TODAY,
        maxDays: MAX_DAYS,
      }),
    );
    const lastBumped = '2026-01-31';

    // Act
    const plan = auto(pipeline, ledger);

    // Assess
    expect(plan.dates.map(({ date, stages }) => [date, stages])).toEqual([
      ...dateRange(FIRST, lastBumped).map((date) => [date, ['sessions', 'daily_active_users', 'conversion']]),
      ...dateRange(addDays(lastBumped, 1), addDays(lastBumped, 27)).map((date) => [
        date,
        ['daily_active_users'],
      ]),
    ]);
    expect(plan.dates.at(-1)?.reasons).toEqual([
      expect.objectContaining({
        kind: 'input-stale',
        stage: 'daily_active_users',
        input: 'sessions',
        inputDate: lastBumped,
        change: 'planned',
      }),
    ]);
  });

  describe('definePipeline refuses', () => {
    /** The shop's stages with one replaced (or moved), as a team might get it wrong. */
    const edited = (name: string, edit: (stage: Stage) => Partial<Stage>): Stage[] =>
      shopStages.map((stage) => (stage.name === name ? { ...stage, ...edit(stage) } : stage));
    const refusal = (stages: readonly Stage[]): string => {
      try {
        definePipeline(stages);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidInputError);
        return (error as Error).message;
      }
      throw new Error('definePipeline accepted the stages');
    };
    const at = (name: string) => shopStages.findIndex((stage) => stage.name === name);

    it('an input that is no stage of the pipeline', () => {
      const message = refusal(edited('conversion', () => ({ inputs: ['sessions', 'refunds'] })));
      expect(message).toContain(`Invalid stages[${at('conversion')}].inputs[1]: got "refunds"`);
    });

    it('an input listed after the stage that reads it', () => {
      const moved = [...shopStages];
      const [revenue] = moved.splice(at('revenue_by_country'), 1);
      moved.splice(at('orders'), 0, revenue);
      const message = refusal(moved);
      expect(message).toContain(`Invalid stages[${moved.indexOf(revenue)}].inputs: got "orders"`);
      expect(message).toContain('move orders before revenue_by_country');
    });

    it('a cycle, naming its stages', () => {
      const message = refusal(edited('web_events', () => ({ inputs: ['sessions'] })));
      expect(message).toContain(`Invalid stages[${at('web_events')}].inputs`);
      expect(message).toMatch(/web_events → sessions → web_events|sessions → web_events → sessions/);
    });

    it('the same input twice', () => {
      const message = refusal(
        edited('conversion', () => ({
          inputs: ['sessions', 'orders', { stage: 'sessions', lookbackDays: 1 }],
        })),
      );
      expect(message).toContain(`Invalid stages[${at('conversion')}].inputs[2]: got "sessions"`);
      expect(message).toContain('conversion already reads sessions');
    });

    it('lookbackDays next to inputs', () => {
      const message = refusal(edited('daily_active_users', () => ({ lookbackDays: 27 })));
      expect(message).toContain(`Invalid stages[${at('daily_active_users')}].lookbackDays: got 27`);
      expect(message).toContain("inputs: [{ stage: 'orders', lookbackDays: 27 }]");
    });
  });
});
