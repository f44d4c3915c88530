/**
 * Section 9 — a stage graph: the shop example (examples/shop: two sources, a join, a 28-day window,
 * a branch that reads nothing of the others), whatever pipeline cdk.json names.
 *
 * - Plan time: `planBackfill` (auto, one stage bumped) over 10 years of daily history recorded as
 *   the runner records it (28 input run ids per daily_active_users row), best of 5 on one ledger.
 * - Transitions per backfilled date, by planned set: each stage bumped in turn plans that stage and
 *   everything downstream of it; the set's path through the synthesized item processor ("Prepare
 *   Date", a "Run <Stage>?" Choice per stage, the planned Tasks, "Finish Date").
 * - Work saved when one branch changes: a year of history, one stage bumped; stage-runs the auto
 *   plan schedules against a full rerun and against what a chain would rerun (every stage listed
 *   at or after the changed one, on every date).
 * - The daily run: its transitions, and the graph's depth (stages on the longest input path), the
 *   number of Tasks a Parallel layout would wait for in turn instead of one per stage.
 */

import { pipeline as shop } from '../examples/shop';
import { dateRange, type IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import { planBackfill } from '../lambdas/engine/plan';
import { synthesizeWorkflowDefinitions } from '../lib/workflow-definitions';
import { SHOP } from '../test/support/fixture-pipelines';
import { mapProcessor, PRICE_PER_TRANSITION, walkSuccessPath } from './cost';
import { progress } from './measure';
import { bumped } from './planner';
import { formatTable, int, ms, percent, usd } from './table';
import { SimulatedLedger } from './work-saved';

const TEN_YEARS = { from: '2016-12-01', to: '2026-11-30' } as const;
const ONE_YEAR = { from: '2025-01-01', to: '2025-12-31' } as const;
const TODAY: IsoDate = '2026-12-01';

export interface GraphResult {
  readonly stages: readonly string[];
  readonly inputs: Readonly<Record<string, readonly string[]>>;
  readonly plan10y: {
    readonly dates: number;
    readonly ledgerRows: number;
    readonly bumped: string;
    readonly planMs: number;
    readonly plannedStageRuns: number;
  };
  readonly daily: {
    readonly transitions: number;
    readonly lambdaInvocations: number;
    readonly depth: number;
  };
  readonly perSet: readonly {
    readonly bumped: string;
    readonly stages: readonly string[];
    readonly transitions: number;
    readonly lambdaInvocations: number;
    readonly costPer1000Dates: number;
  }[];
  readonly workSaved: readonly {
    readonly bumped: string;
    readonly plannedDates: number;
    readonly plannedStageRuns: number;
    readonly fullRerunStageRuns: number;
    readonly chainStageRuns: number;
    readonly savedVsFull: number;
    readonly savedVsChain: number;
  }[];
}

function history(pipeline: Pipeline, from: IsoDate, to: IsoDate): SimulatedLedger {
  const ledger = new SimulatedLedger();
  for (const date of dateRange(from, to))
    for (const stage of pipeline.names) ledger.run(pipeline, date, stage);
  return ledger;
}

/** Stages on the longest input path: what a daily run laid out as Parallel levels waits for in turn. */
function depthOf(pipeline: Pipeline): number {
  const depth = new Map<string, number>();
  for (const name of pipeline.names)
    depth.set(name, 1 + Math.max(0, ...pipeline.inputsOf(name).map((input) => depth.get(input.stage)!)));
  return Math.max(...depth.values());
}

export async function benchGraph(): Promise<GraphResult> {
  progress('stage graph: synthesizing the shop example and planning 10 years');
  const definitions = synthesizeWorkflowDefinitions({
    source: SHOP,
    pipeline: { pipeline: shop, transitions: [] },
  });
  const processor = mapProcessor(definitions.backfill.definition);
  const fixed = walkSuccessPath(definitions.backfill.definition);
  const daily = walkSuccessPath(definitions.daily.definition);

  const windowed = shop.names.find((name) => shop.lookbackOf(name) > 0) ?? shop.names[0];
  const bumpedStage = shop.inputsOf(windowed)[0]?.stage ?? windowed;
  const tenYears = history(shop, TEN_YEARS.from, TEN_YEARS.to);
  const code = bumped(shop, bumpedStage);
  const request = {
    pipeline: code,
    ledger: tenYears.entries(),
    mode: 'auto' as const,
    today: TODAY,
    maxDays: 3660,
  };
  let planMs = Number.POSITIVE_INFINITY;
  let plannedStageRuns = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    plannedStageRuns = planBackfill(request).totals.stageRuns;
    planMs = Math.min(planMs, performance.now() - started);
  }

  const perSet = shop.names.map((stage) => {
    const stages = shop.downstreamOf([stage]);
    const path = walkSuccessPath(processor, new Set(stages));
    return {
      bumped: stage,
      stages,
      transitions: path.transitions,
      lambdaInvocations: path.lambdaInvocations,
      costPer1000Dates: (fixed.transitions + 1000 * path.transitions) * PRICE_PER_TRANSITION,
    };
  });

  const dates = dateRange(ONE_YEAR.from, ONE_YEAR.to).length;
  const year = history(shop, ONE_YEAR.from, ONE_YEAR.to).entries();
  const workSaved = shop.names.map((stage) => {
    const plan = planBackfill({ ...request, pipeline: bumped(shop, stage), ledger: year, ...ONE_YEAR });
    const { stageRuns, fullRerunStageRuns, dates: plannedDates } = plan.totals;
    const chainStageRuns = dates * (shop.names.length - shop.indexOf(stage));
    return {
      bumped: stage,
      plannedDates,
      plannedStageRuns: stageRuns,
      fullRerunStageRuns,
      chainStageRuns,
      savedVsFull: 1 - stageRuns / fullRerunStageRuns,
      savedVsChain: 1 - stageRuns / chainStageRuns,
    };
  });

  return {
    stages: shop.names,
    inputs: Object.fromEntries(shop.names.map((name) => [name, shop.inputsOf(name).map((i) => i.stage)])),
    plan10y: {
      dates: dateRange(TEN_YEARS.from, TEN_YEARS.to).length,
      ledgerRows: request.ledger.length,
      bumped: bumpedStage,
      planMs,
      plannedStageRuns,
    },
    daily: {
      transitions: daily.transitions,
      lambdaInvocations: daily.lambdaInvocations,
      depth: depthOf(shop),
    },
    perSet,
    workSaved,
  };
}

export function formatGraph(result: GraphResult): string {
  const { plan10y, daily } = result;
  const header = [
    `9. Stage graph — the shop example (${result.stages.length} stages: ${result.stages
      .map((stage) =>
        result.inputs[stage].length === 0
          ? `${stage} (source)`
          : `${stage} ← ${result.inputs[stage].join(' + ')}`,
      )
      .join('; ')})`,
    `   plan, 10 years: ${int(plan10y.dates)} dates, ${int(plan10y.ledgerRows)} ledger rows, ${plan10y.bumped} bumped → ` +
      `${int(plan10y.plannedStageRuns)} stage-runs planned in ${ms(plan10y.planMs)} ms (planBackfill alone, best of 5)`,
    `   daily run: ${daily.transitions} transitions, ${daily.lambdaInvocations} Lambda calls, one Task per stage in turn; ` +
      `the longest input path has ${daily.depth} stages (what Parallel levels would wait for)`,
  ].join('\n');
  const sets = formatTable(
    '   transitions per backfilled date, by planned set (one stage bumped)',
    [
      { header: 'bumped', align: 'left' },
      { header: 'planned set', align: 'left' },
      { header: 'transitions' },
      { header: 'Lambda calls' },
      { header: 'cost / 1,000 dates' },
    ],
    result.perSet.map((row) => [
      row.bumped,
      row.stages.join(', '),
      String(row.transitions),
      String(row.lambdaInvocations),
      usd(row.costPer1000Dates),
    ]),
  );
  const saved = formatTable(
    '   work saved, one year of history, one stage bumped',
    [
      { header: 'bumped', align: 'left' },
      { header: 'dates' },
      { header: 'planned' },
      { header: 'full rerun' },
      { header: 'as a chain' },
      { header: 'saved vs full' },
      { header: 'saved vs chain' },
    ],
    result.workSaved.map((row) => [
      row.bumped,
      int(row.plannedDates),
      int(row.plannedStageRuns),
      int(row.fullRerunStageRuns),
      int(row.chainStageRuns),
      percent(row.savedVsFull),
      percent(row.savedVsChain),
    ]),
  );
  return `${header}\n${sets}\n${saved}`;
}
