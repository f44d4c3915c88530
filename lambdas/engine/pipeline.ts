import { type InputProblem, InvalidInputError } from './errors';
import type { Stage, StageInput } from './stage';

/** Stage and table names end up in SQL, state names and CLI arguments: keep them to safe identifiers. */
export const IDENTIFIER = /^[a-z][a-z0-9_]{0,39}$/;
export const IDENTIFIER_FORM = 'lower snake case: a letter, then letters, digits or _ (at most 40)';

/** The versions of the stages upstream of one stage, e.g. `{ ingest: 1, transform: 2 }`. */
export type Lineage = Readonly<Record<string, number>>;

/** One input of a stage, resolved: the stage it reads and over how many days before the date. */
export interface ResolvedInput {
  readonly stage: string;
  readonly lookbackDays: number;
}

/** The ordered stage list, validated, with the graph lookups everything else derives from it. */
export interface Pipeline {
  /** In the declared order, which is a topological order: every stage after its inputs. */
  readonly stages: readonly Stage[];
  readonly names: readonly string[];
  stage(name: string): Stage;
  indexOf(name: string): number;
  /** What `name` reads, in the declared order of its inputs; empty for a source. */
  inputsOf(name: string): readonly ResolvedInput[];
  /** The longest lookback of `name`'s inputs (0 for a source): how far back its widest window reaches. */
  lookbackOf(name: string): number;
  /** The lineage the code expects for `name`: the code's versions of every stage upstream of it. */
  codeLineage(name: string): Lineage;
  /** `names` and every stage that reads any of them, directly or not, in pipeline order. */
  downstreamOf(names: readonly string[]): string[];
  /**
   * True when every stage reads exactly the one listed before it (the first reads nothing): a
   * chain, where a date's plan is always a suffix.
   */
  readonly isChain: boolean;
}

/** Validates the ordered stage list, collecting every problem and throwing once. */
export function definePipeline(stages: readonly Stage[]): Pipeline {
  const problems: InputProblem[] = [];
  if (stages.length === 0) problems.push({ field: 'stages', value: [], accepted: 'at least one stage' });
  const seenNames = new Set<string>();
  const tableOwner = new Map<string, string>();
  stages.forEach((stage, i) => {
    const at = `stages[${i}]`;
    if (!IDENTIFIER.test(stage.name))
      problems.push({ field: `${at}.name`, value: stage.name, accepted: IDENTIFIER_FORM });
    if (seenNames.has(stage.name))
      problems.push({ field: `${at}.name`, value: stage.name, accepted: 'a name no other stage uses' });
    seenNames.add(stage.name);
    if (!Number.isInteger(stage.version) || stage.version < 1) {
      problems.push({ field: `${at}.version`, value: stage.version, accepted: 'a whole number from 1' });
    }
    problems.push(...lookbackProblems(stage, i, at));
    problems.push(...verifiabilityProblems(stage, at));
    for (const [table, columns] of Object.entries(stage.annotates ?? {})) {
      if (!tableOwner.has(table) || stage.owns.includes(table)) {
        problems.push({
          field: `${at}.annotates.${table}`,
          value: table,
          accepted: 'a table an earlier stage owns (a stage need not annotate its own tables)',
        });
      }
      if (!Array.isArray(columns) || columns.length === 0)
        problems.push({
          field: `${at}.annotates.${table}`,
          value: columns,
          accepted: 'a list of column names',
        });
      else
        columns.forEach((column, c) => {
          if (!IDENTIFIER.test(column))
            problems.push({
              field: `${at}.annotates.${table}[${c}]`,
              value: column,
              accepted: IDENTIFIER_FORM,
            });
        });
    }
    stage.owns.forEach((table, t) => {
      if (!IDENTIFIER.test(table))
        problems.push({ field: `${at}.owns[${t}]`, value: table, accepted: IDENTIFIER_FORM });
      else if (table.startsWith('hindsight_')) {
        problems.push({
          field: `${at}.owns[${t}]`,
          value: table,
          accepted: 'a table outside the hindsight_ ledger tables',
        });
      }
      const owner = tableOwner.get(table);
      if (owner !== undefined) {
        problems.push({
          field: `${at}.owns[${t}]`,
          value: table,
          accepted: `a table no other stage owns (${owner} owns it)`,
        });
      }
      tableOwner.set(table, stage.name);
    });
  });
  if (problems.length > 0) throw new InvalidInputError(problems);
  const inputs = resolveInputs(stages);

  const frozen = Object.freeze([...stages]);
  const names = Object.freeze(frozen.map((stage) => stage.name));
  const index = new Map(names.map((name, i) => [name, i]));
  // In list order every input is already known, so one pass builds each lineage and lookback.
  const lineages = new Map<string, Lineage>();
  const lookbacks = new Map<string, number>();
  const consumers = new Map<string, string[]>(names.map((name) => [name, []]));
  for (const stage of frozen) {
    const lineage: Record<string, number> = {};
    for (const input of inputs.get(stage.name) ?? []) {
      Object.assign(lineage, lineages.get(input.stage));
      lineage[input.stage] = frozen[index.get(input.stage)!].version;
      consumers.get(input.stage)!.push(stage.name);
    }
    lineages.set(stage.name, Object.freeze(sortedByList(lineage, index)));
    lookbacks.set(
      stage.name,
      Math.max(0, ...(inputs.get(stage.name) ?? []).map((input) => input.lookbackDays)),
    );
  }
  const isChain = frozen.every((stage, i) => {
    const read = inputs.get(stage.name) ?? [];
    return i === 0 ? read.length === 0 : read.length === 1 && read[0].stage === names[i - 1];
  });

  const indexOf = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw InvalidInputError.of('stage', name, `one of ${names.join(', ')}`);
    return i;
  };
  return {
    stages: frozen,
    names,
    indexOf,
    stage: (name) => frozen[indexOf(name)],
    inputsOf: (name) => inputs.get(frozen[indexOf(name)].name)!,
    lookbackOf: (name) => lookbacks.get(frozen[indexOf(name)].name)!,
    codeLineage: (name) => lineages.get(frozen[indexOf(name)].name)!,
    downstreamOf: (start) => {
      const reached = new Set(start.map((name) => frozen[indexOf(name)].name));
      for (const name of names) {
        if (reached.has(name)) for (const consumer of consumers.get(name)!) reached.add(consumer);
      }
      return names.filter((name) => reached.has(name));
    },
    isChain,
  };
}

/** A lineage with its keys in pipeline order, so it prints and compares the same way everywhere. */
function sortedByList(lineage: Record<string, number>, index: ReadonlyMap<string, number>): Lineage {
  const keys = Object.keys(lineage).sort((a, b) => index.get(a)! - index.get(b)!);
  return Object.fromEntries(keys.map((key) => [key, lineage[key]]));
}

const LOOKBACK_FORM = 'a whole number from 0 to 366';

function isLookback(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 366;
}

/** The stage-level lookback: a chain stage's window over the stage before it; nothing else has one. */
function lookbackProblems(stage: Stage, i: number, at: string): InputProblem[] {
  if (!isLookback(stage.lookbackDays))
    return [{ field: `${at}.lookbackDays`, value: stage.lookbackDays, accepted: LOOKBACK_FORM }];
  if (stage.lookbackDays === 0) return [];
  if (stage.inputs !== undefined) {
    return [
      {
        field: `${at}.lookbackDays`,
        value: stage.lookbackDays,
        accepted: `0 for a stage with inputs, which gives each input its own lookback, e.g. inputs: [{ stage: 'orders', lookbackDays: ${stage.lookbackDays} }]`,
      },
    ];
  }
  return i === 0
    ? [
        {
          field: `${at}.lookbackDays`,
          value: stage.lookbackDays,
          accepted: '0 for the first stage, which has no input stage',
        },
      ]
    : [];
}

/**
 * Each stage's inputs, resolved (a stage without `inputs` reads the one listed before it), after
 * checking that each names a stage listed before it, once, and that the inputs form no cycle.
 */
function resolveInputs(stages: readonly Stage[]): Map<string, ResolvedInput[]> {
  const names = stages.map((stage) => stage.name);
  const position = new Map(names.map((name, i) => [name, i]));
  const declared = new Map<string, ResolvedInput[]>();
  const problems: InputProblem[] = [];
  stages.forEach((stage, i) => {
    const at = `stages[${i}].inputs`;
    if (stage.inputs === undefined) {
      declared.set(stage.name, i === 0 ? [] : [{ stage: names[i - 1], lookbackDays: stage.lookbackDays }]);
      return;
    }
    if (!Array.isArray(stage.inputs)) {
      problems.push({
        field: at,
        value: stage.inputs,
        accepted:
          "a list of stage names or { stage, lookbackDays } objects, e.g. ['orders', { stage: 'sessions', lookbackDays: 27 }]",
      });
      declared.set(stage.name, []);
      return;
    }
    const resolved: ResolvedInput[] = [];
    stage.inputs.forEach((input: StageInput, k) => {
      const field = `${at}[${k}]`;
      const name =
        typeof input === 'string'
          ? input
          : typeof input === 'object' && input !== null
            ? input.stage
            : undefined;
      const lookbackDays = typeof input === 'object' && input !== null ? (input.lookbackDays ?? 0) : 0;
      if (typeof name !== 'string' || !position.has(name) || name === stage.name) {
        problems.push({
          field,
          value: input,
          accepted: `another stage of this pipeline, by name or as { stage, lookbackDays }: one of ${names.filter((other) => other !== stage.name).join(', ')}`,
        });
        return;
      }
      if (!isLookback(lookbackDays)) {
        problems.push({ field: `${field}.lookbackDays`, value: lookbackDays, accepted: LOOKBACK_FORM });
        return;
      }
      if (resolved.some((known) => known.stage === name)) {
        problems.push({
          field,
          value: name,
          accepted: `each input once (${stage.name} already reads ${name})`,
        });
        return;
      }
      resolved.push({ stage: name, lookbackDays });
    });
    declared.set(stage.name, resolved);
  });
  if (problems.length > 0) throw new InvalidInputError(problems);

  const cycle = findCycle(names, declared);
  if (cycle !== null) {
    throw InvalidInputError.of(
      `stages[${position.get(cycle[0])}].inputs`,
      cycle.join(' → '),
      'inputs without a cycle: a stage cannot read, directly or not, its own output',
    );
  }
  stages.forEach((stage, i) => {
    for (const input of declared.get(stage.name) ?? []) {
      if (position.get(input.stage)! > i) {
        problems.push({
          field: `stages[${i}].inputs`,
          value: input.stage,
          accepted: `stages listed before ${stage.name}: the list runs in graph order, so move ${input.stage} before ${stage.name}`,
        });
      }
    }
  });
  if (problems.length > 0) throw new InvalidInputError(problems);
  return declared;
}

/** A cycle of the input graph as stage names (first repeated last), or null. */
function findCycle(
  names: readonly string[],
  inputs: ReadonlyMap<string, readonly ResolvedInput[]>,
): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'open') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'open');
    path.push(name);
    for (const input of inputs.get(name) ?? []) {
      const cycle = visit(input.stage);
      if (cycle !== null) return cycle;
    }
    path.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of names) {
    const cycle = visit(name);
    if (cycle !== null) return cycle.reverse();
  }
  return null;
}

/** The longest `unverifiableReason`: one sentence, shown on one line by `hindsight verify`. */
const REASON_MAX_LENGTH = 200;

/** `verifiable: false` needs a reason, and a reason needs `verifiable: false`. */
function verifiabilityProblems(stage: Stage, at: string): InputProblem[] {
  const { verifiable, unverifiableReason: reason } = stage;
  if (verifiable !== undefined && typeof verifiable !== 'boolean')
    return [{ field: `${at}.verifiable`, value: verifiable, accepted: 'true or false' }];
  if (verifiable === false) {
    const valid =
      typeof reason === 'string' &&
      reason.trim().length > 0 &&
      reason.length <= REASON_MAX_LENGTH &&
      !/[\r\n]/.test(reason);
    return valid
      ? []
      : [
          {
            field: `${at}.unverifiableReason`,
            value: reason,
            accepted: `why verify cannot recompute the stage, one line of 1 to ${REASON_MAX_LENGTH} characters (required with verifiable: false)`,
          },
        ];
  }
  return reason === undefined
    ? []
    : [
        {
          field: `${at}.unverifiableReason`,
          value: reason,
          accepted: 'nothing unless verifiable is false (a verifiable stage needs no reason)',
        },
      ];
}

/** Lineages are equal when they name the same stages at the same versions. */
export function sameLineage(a: Lineage, b: Lineage): boolean {
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => b[key] === a[key]);
}
