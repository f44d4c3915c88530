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
   * Runs one stage for one date with the given code, as the runner records it: for each input, its
   * rows over `[date - lookbackDays, date]`; lineage is the inputs' lineages plus their versions;
   * the run gets a fresh id. Refuses when an input has not run on the date.
   */
  runStage(pipeline: Pipeline, date: IsoDate, stage: string): LedgerEntry {
    const code = pipeline.stage(stage);
    const lineage: Record<string, number> = {};
    const inputRunIds: Record<string, Record<IsoDate, string>> = {};
    for (const input of pipeline.inputsOf(stage)) {
      const same = this.get(date, input.stage);
      if (same === undefined) throw new MissingInputError(stage, date, input.stage);
      Object.assign(lineage, same.lineage, { [input.stage]: same.version });
      const read: Record<IsoDate, string> = {};
      for (const day of dateRange(addDays(date, -input.lookbackDays), date)) {
        const row = this.get(day, input.stage);
        if (row !== undefined) read[day] = row.runId;
      }
      inputRunIds[input.stage] = read;
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
  const entry = ledger.get(date, stage);
  if (entry === undefined || entry.version !== pipeline.stage(stage).version) return false;
  // Every stage upstream, found by following inputs, at its code version.
  const expected: Record<string, number> = {};
  const pending = pipeline.inputsOf(stage).map((input) => input.stage);
  while (pending.length > 0) {
    const upstream = pending.pop()!;
    if (Object.hasOwn(expected, upstream)) continue;
    expected[upstream] = pipeline.stage(upstream).version;
    pending.push(...pipeline.inputsOf(upstream).map((input) => input.stage));
  }
  const recorded = Object.keys(entry.lineage).sort();
  if (JSON.stringify(recorded) !== JSON.stringify(Object.keys(expected).sort())) return false;
  if (recorded.some((name) => entry.lineage[name] !== expected[name])) return false;
  for (const input of pipeline.inputsOf(stage)) {
    const now: Record<IsoDate, string> = {};
    for (const day of dateRange(addDays(date, -input.lookbackDays), date)) {
      const row = ledger.get(day, input.stage);
      if (row !== undefined) now[day] = row.runId;
    }
    if (JSON.stringify(now) !== JSON.stringify(entry.inputRunIds[input.stage] ?? {})) return false;
  }
  return Object.keys(entry.inputRunIds).length === pipeline.inputsOf(stage).length;
}
