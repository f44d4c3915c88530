/**
 * A stand-in for the stage runner that records provenance exactly as the real one does, so the
 * planner can be tested against histories that could really have happened.
 */
import fc from 'fast-check';
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { MissingInputError } from '../../lambdas/engine/errors';
import type { LedgerEntry } from '../../lambdas/engine/ledger';
import { definePipeline, type Pipeline, type ResolvedInput } from '../../lambdas/engine/pipeline';
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

/**
 * One stage of a test graph: without `inputs` it reads the stage listed before it over
 * `lookbackDays` (a chain link, a source when first); `inputs: []` is a source.
 */
export interface GraphStageSpec {
  readonly name: string;
  readonly version: number;
  readonly inputs?: readonly ResolvedInput[];
  readonly lookbackDays?: number;
}

/** Builds a graph of no-op stages from specs, as `chain` does for chains. */
export function graph(specs: readonly GraphStageSpec[]): Pipeline {
  return definePipeline(
    specs.map((spec) =>
      defineStage({
        name: spec.name,
        version: spec.version,
        ...(spec.inputs === undefined ? {} : { inputs: spec.inputs }),
        lookbackDays: spec.lookbackDays ?? 0,
        owns: [],
        description: `${spec.name} (test)`,
        run: async () => 0,
      }),
    ),
  );
}

/** The specs of a pipeline's stages, with declared inputs written as `{ stage, lookbackDays }`. */
export function specsOf(pipeline: Pipeline): GraphStageSpec[] {
  return pipeline.stages.map((stage) => ({
    name: stage.name,
    version: stage.version,
    ...(stage.inputs === undefined
      ? {}
      : {
          inputs: stage.inputs.map((input) =>
            typeof input === 'string'
              ? { stage: input, lookbackDays: 0 }
              : { stage: input.stage, lookbackDays: input.lookbackDays ?? 0 },
          ),
        }),
    lookbackDays: stage.lookbackDays,
  }));
}

/** The same graph with one stage's version raised and its inputs kept, as a code change would. */
export function bumpStage(pipeline: Pipeline, stage: string, to?: number): Pipeline {
  pipeline.indexOf(stage);
  return graph(
    specsOf(pipeline).map((spec) =>
      spec.name === stage ? { ...spec, version: to ?? spec.version + 1 } : spec,
    ),
  );
}

/**
 * The graph without `stage`, as deleting its module leaves it: a stage that declared it as an input
 * drops it and is bumped (its module changed, which the version guard insists on); a stage without
 * `inputs` now reads the stage listed before it. Null when that is no valid pipeline (the stage was
 * the only one, or a chain link with a lookback would become the first stage).
 */
export function removeStage(pipeline: Pipeline, stage: string): Pipeline | null {
  pipeline.indexOf(stage);
  const specs = specsOf(pipeline)
    .filter((spec) => spec.name !== stage)
    .map((spec) =>
      spec.inputs?.some((input) => input.stage === stage)
        ? { ...spec, version: spec.version + 1, inputs: spec.inputs.filter((input) => input.stage !== stage) }
        : spec,
    );
  if (specs.length === 0) return null;
  try {
    return graph(specs);
  } catch {
    return null;
  }
}

/**
 * `stage` no longer reads `input`: its inputs are declared without it and its version is bumped
 * (its module changed). Null when it does not read `input`.
 */
export function dropInput(pipeline: Pipeline, stage: string, input: string): Pipeline | null {
  const inputs = pipeline.inputsOf(stage);
  if (!inputs.some((read) => read.stage === input)) return null;
  return graph(
    specsOf(pipeline).map((spec) =>
      spec.name === stage
        ? {
            name: spec.name,
            version: spec.version + 1,
            inputs: inputs.filter((read) => read.stage !== input).map((read) => ({ ...read })),
          }
        : spec,
    ),
  );
}

/**
 * Runs the given stages for one date in pipeline order, leaving out each one whose inputs have not
 * run for the date (the runner would refuse it), so the history stays one that could have happened.
 */
export function runWherePossible(
  ledger: SimulatedLedger,
  pipeline: Pipeline,
  date: IsoDate,
  stages: readonly string[],
): string[] {
  const ran: string[] = [];
  for (const stage of pipeline.names) {
    if (!stages.includes(stage)) continue;
    if (pipeline.inputsOf(stage).some((input) => ledger.get(date, input.stage) === undefined)) continue;
    ledger.runStage(pipeline, date, stage);
    ran.push(stage);
  }
  return ran;
}

/**
 * Random graphs of `minStages` to `maxStages` stages named s0, s1, …, all at version 1. Mostly each
 * stage declares a random subset of the stages before it as inputs (none: a source, `inputs: []`),
 * each with a lookback from 0 to `maxLookback`; some stages declare no inputs (they read the stage
 * before them); about one graph in five is a plain chain with no `inputs` declared at all.
 * Shrinks towards fewer stages and fewer inputs.
 */
export function graphSpecs(
  options: { minStages?: number; maxStages?: number; maxLookback?: number } = {},
): fc.Arbitrary<GraphStageSpec[]> {
  const { minStages = 2, maxStages = 8, maxLookback = 4 } = options;
  const lookback = fc.integer({ min: 0, max: maxLookback });
  const stage = fc.record({
    declared: fc.nat(4).map((n) => n > 0),
    lookbackDays: lookback,
    // The lookback of each earlier stage read, or null for one not read.
    reads: fc.array(
      fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: lookback }),
      {
        minLength: maxStages,
        maxLength: maxStages,
      },
    ),
  });
  return fc
    .record({
      plainChain: fc.nat(4).map((n) => n === 0),
      stages: fc.array(stage, { minLength: minStages, maxLength: maxStages }),
    })
    .map(({ plainChain, stages }) =>
      stages.map(({ declared, lookbackDays, reads }, i): GraphStageSpec => {
        const name = `s${i}`;
        if (plainChain || !declared) return { name, version: 1, lookbackDays: i === 0 ? 0 : lookbackDays };
        return {
          name,
          version: 1,
          inputs: reads
            .slice(0, i)
            .flatMap((days, j) => (days === null ? [] : [{ stage: `s${j}`, lookbackDays: days }])),
        };
      }),
    );
}
