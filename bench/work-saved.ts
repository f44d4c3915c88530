/**
 * Section 7 — work saved: for a year of daily history and one change, the stage-runs the auto plan
 * schedules against rerunning everything and against rerunning every date from the changed stage.
 * Pure: the ledger is simulated in memory, recorded as the stage runner records it.
 */
import { addDays, dateRange, type IsoDate } from '../lambdas/engine/dates';
import type { LedgerEntry } from '../lambdas/engine/ledger';
import type { Pipeline } from '../lambdas/engine/pipeline';
import { planBackfill } from '../lambdas/engine/plan';
import { timed } from './measure';
import { bumped } from './planner';
import { formatTable, int, ms, percent } from './table';

const FROM: IsoDate = '2025-01-01';
const TO: IsoDate = '2025-12-31';
const TODAY: IsoDate = '2026-01-01';

/** The ledger's current rows, recorded the way runStage records them (lineage, input run ids, new run id). */
export class SimulatedLedger {
  private readonly rows = new Map<string, LedgerEntry>();
  private runs = 0;

  entries(): LedgerEntry[] {
    return [...this.rows.values()];
  }

  remove(date: IsoDate, stage: string): void {
    this.rows.delete(`${date}|${stage}`);
  }

  run(pipeline: Pipeline, date: IsoDate, stage: string): void {
    const lineage: Record<string, number> = {};
    const inputRunIds: Record<string, Record<IsoDate, string>> = {};
    for (const input of pipeline.inputsOf(stage)) {
      const same = this.rows.get(`${date}|${input.stage}`);
      if (same === undefined) throw new Error(`${stage} on ${date} without its input ${input.stage}`);
      Object.assign(lineage, same.lineage, { [input.stage]: same.version });
      const read: Record<IsoDate, string> = {};
      for (const day of dateRange(addDays(date, -input.lookbackDays), date)) {
        const row = this.rows.get(`${day}|${input.stage}`);
        if (row !== undefined) read[day] = row.runId;
      }
      inputRunIds[input.stage] = read;
    }
    this.runs++;
    this.rows.set(`${date}|${stage}`, {
      date,
      stage,
      version: pipeline.stage(stage).version,
      lineage,
      inputRunIds,
      runId: `run-${this.runs}`,
    });
  }
}

interface Scenario {
  readonly name: string;
  /** The stage the change touches: "rerun every date from it" is the naive alternative. */
  readonly changedStage: string;
  /** Changes the code (returns the new pipeline) and/or the ledger. */
  readonly apply: (pipeline: Pipeline, ledger: SimulatedLedger) => Pipeline;
}

export interface WorkSavedRow {
  readonly scenario: string;
  readonly changedStage: string;
  readonly plannedDates: number;
  readonly plannedStageRuns: number;
  readonly fullRerunStageRuns: number;
  readonly fromChangedStageRuns: number;
  readonly savedVsFull: number;
  readonly savedVsFromChanged: number;
  readonly planMs: number;
}

export interface WorkSavedResult {
  readonly from: IsoDate;
  readonly to: IsoDate;
  readonly dates: number;
  readonly scenarios: readonly WorkSavedRow[];
}

export async function benchWorkSaved(pipeline: Pipeline): Promise<WorkSavedResult> {
  const names = pipeline.names;
  const first = names[0];
  const middle = names[Math.floor(names.length / 2)];
  const last = names[names.length - 1];
  const windowed = pipeline.stages.find((stage) => stage.lookbackDays > 0)?.name ?? middle;
  const scenarios: Scenario[] = [
    { name: `first stage bumped (${first})`, changedStage: first, apply: (p) => bumped(p, first) },
    { name: `middle stage bumped (${middle})`, changedStage: middle, apply: (p) => bumped(p, middle) },
    { name: `last stage bumped (${last})`, changedStage: last, apply: (p) => bumped(p, last) },
    { name: `rolling stage bumped (${windowed})`, changedStage: windowed, apply: (p) => bumped(p, windowed) },
    {
      name: `late data: ${first} rerun on 3 dates`,
      changedStage: names[1],
      apply: (p, ledger) => {
        for (const date of dateRange('2025-06-10', '2025-06-12')) ledger.run(p, date, first);
        return p;
      },
    },
    {
      name: 'one daily run missed',
      changedStage: first,
      apply: (p, ledger) => {
        for (const stage of names) ledger.remove('2025-09-01', stage);
        return p;
      },
    },
  ];
  const dates = dateRange(FROM, TO);
  const rows: WorkSavedRow[] = [];
  for (const scenario of scenarios) {
    const ledger = new SimulatedLedger();
    for (const date of dates) for (const stage of names) ledger.run(pipeline, date, stage);
    const code = scenario.apply(pipeline, ledger);
    const plan = await timed(() =>
      planBackfill({
        pipeline: code,
        ledger: ledger.entries(),
        mode: 'auto',
        from: FROM,
        to: TO,
        today: TODAY,
        maxDays: 3660,
      }),
    );
    const { stageRuns, fullRerunStageRuns, dates: plannedDates } = plan.result.totals;
    const fromChangedStageRuns = dates.length * (names.length - names.indexOf(scenario.changedStage));
    rows.push({
      scenario: scenario.name,
      changedStage: scenario.changedStage,
      plannedDates,
      plannedStageRuns: stageRuns,
      fullRerunStageRuns,
      fromChangedStageRuns,
      savedVsFull: 1 - stageRuns / fullRerunStageRuns,
      savedVsFromChanged: 1 - stageRuns / fromChangedStageRuns,
      planMs: plan.ms,
    });
  }
  return { from: FROM, to: TO, dates: dates.length, scenarios: rows };
}

export function formatWorkSaved(result: WorkSavedResult): string {
  return formatTable(
    `7. Work saved — ${result.dates} dates of daily history (${result.from} .. ${result.to}), auto plan on a simulated ledger`,
    [
      { header: 'scenario', align: 'left' },
      { header: 'dates' },
      { header: 'planned' },
      { header: 'full rerun' },
      { header: 'all dates from changed' },
      { header: 'saved vs full' },
      { header: 'saved vs from-changed' },
      { header: 'plan ms' },
    ],
    result.scenarios.map((s) => [
      s.scenario,
      int(s.plannedDates),
      int(s.plannedStageRuns),
      int(s.fullRerunStageRuns),
      `${int(s.fromChangedStageRuns)} (${s.changedStage})`,
      percent(s.savedVsFull),
      percent(s.savedVsFromChanged),
      ms(s.planMs),
    ]),
  );
}
