/**
 * A stand-in for the stage runner that records provenance exactly as the real one does, so the
 * planner can be tested against histories that could really have happened.
 */
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { MissingInputError } from '../../lambdas/engine/errors';
import type { LedgerEntry } from '../../lambdas/engine/ledger';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import type { BackfillPlan } from '../../lambdas/engine/plan';
import { defineStage } from '../../lambdas/engine/stage';

/** The ledger's current state per (date, stage), plus the run id counter. */
export class SimulatedLedger {
  private readonly rows = new Map<string, LedgerEntry>();
  private runs = 0;

  entries(): LedgerEntry[] {
    return [...this.rows.values()];
  }

  get(date: IsoDate, stage: string): LedgerEntry | undefined {
    return this.rows.get(`${date}|${stage}`);
  }

  /**
   * Runs one stage for one date with the given code, as the runner records it: inputs are the
   * previous stage's rows over `[date - lookbackDays, date]`, lineage is the previous stage's
   * lineage plus its version, and the run gets a fresh id. Refuses when the input has not run.
   */
  runStage(pipeline: Pipeline, date: IsoDate, stage: string): LedgerEntry {
    const i = pipeline.indexOf(stage);
    const code = pipeline.stages[i];
    let lineage: Record<string, number> = {};
    const inputRunIds: Record<IsoDate, string> = {};
    if (i > 0) {
      const input = pipeline.stages[i - 1].name;
      const same = this.get(date, input);
      if (same === undefined) throw new MissingInputError(stage, date, input);
      lineage = { ...same.lineage, [input]: same.version };
      for (const day of dateRange(addDays(date, -code.lookbackDays), date)) {
        const row = this.get(day, input);
        if (row !== undefined) inputRunIds[day] = row.runId;
      }
    }
    this.runs += 1;
    const entry: LedgerEntry = {
      date,
      stage,
      version: code.version,
      lineage,
      inputRunIds,
      runId: `run-${this.runs}`,
    };
    this.rows.set(`${date}|${stage}`, entry);
    return entry;
  }

  /** Runs `stages` (a chain's consecutive stages) in order for one date. */
  runStages(pipeline: Pipeline, date: IsoDate, stages: readonly string[]): void {
    for (const stage of stages) this.runStage(pipeline, date, stage);
  }

  /** Runs the chain for one date from `startStage` to the last stage. */
  runFrom(pipeline: Pipeline, date: IsoDate, startStage: string): void {
    this.runStages(pipeline, date, pipeline.names.slice(pipeline.indexOf(startStage)));
  }

  /** Carries out a plan as the backfill does: dates in order, each date's stages in order. */
  apply(pipeline: Pipeline, plan: BackfillPlan): void {
    for (const date of plan.dates) this.runStages(pipeline, date.date, date.stages);
  }
}

/** `[name, version, lookbackDays]` for each stage of a test chain. */
export type StageSpec = readonly [name: string, version: number, lookbackDays: number];

/** Builds a pipeline of no-op stages: the planner only reads names, versions and lookbacks. */
export function chain(specs: readonly StageSpec[]): Pipeline {
  return definePipeline(
    specs.map(([name, version, lookbackDays]) =>
      defineStage({
        name,
        version,
        lookbackDays,
        owns: [],
        description: `${name} (test)`,
        run: async () => 0,
      }),
    ),
  );
}

/** The same chain with one stage's version raised, as a code change would. */
export function bump(pipeline: Pipeline, stage: string, to?: number): Pipeline {
  return chain(
    pipeline.stages.map(
      (s) => [s.name, s.name === stage ? (to ?? s.version + 1) : s.version, s.lookbackDays] as const,
    ),
  );
}

/**
 * An oracle written apart from the planner, straight from the design's rules: is (date, stage)
 * missing, or recorded with other versions than the code's, or with other input run ids than the
 * ledger holds now? It ignores anything planned, so it says what a finished backfill left behind.
 */
export function isFresh(ledger: SimulatedLedger, pipeline: Pipeline, date: IsoDate, stage: string): boolean {
  const i = pipeline.indexOf(stage);
  const entry = ledger.get(date, stage);
  if (entry === undefined || entry.version !== pipeline.stages[i].version) return false;
  const expected: Record<string, number> = {};
  for (const upstream of pipeline.stages.slice(0, i)) expected[upstream.name] = upstream.version;
  if (JSON.stringify(entry.lineage, Object.keys(expected)) !== JSON.stringify(expected)) return false;
  if (Object.keys(entry.lineage).length !== i) return false;
  if (i === 0) return true;
  const input = pipeline.stages[i - 1].name;
  const now: Record<IsoDate, string> = {};
  for (const day of dateRange(addDays(date, -pipeline.stages[i].lookbackDays), date)) {
    const row = ledger.get(day, input);
    if (row !== undefined) now[day] = row.runId;
  }
  return JSON.stringify(now) === JSON.stringify(entry.inputRunIds);
}
