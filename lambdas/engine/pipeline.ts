import { type InputProblem, InvalidInputError } from './errors';
import type { Stage } from './stage';

/** Stage and table names end up in SQL, state names and CLI arguments: keep them to safe identifiers. */
export const IDENTIFIER = /^[a-z][a-z0-9_]{0,39}$/;
export const IDENTIFIER_FORM = 'lower snake case: a letter, then letters, digits or _ (at most 40)';

/** The versions of the stages upstream of one stage, e.g. `{ ingest: 1, transform: 2 }`. */
export type Lineage = Readonly<Record<string, number>>;

/** The ordered stage list, validated, with the lookups everything else derives from it. */
export interface Pipeline {
  readonly stages: readonly Stage[];
  readonly names: readonly string[];
  stage(name: string): Stage;
  indexOf(name: string): number;
  /** The stage whose output `name` reads, or undefined for the first stage. */
  inputOf(name: string): Stage | undefined;
  /** The lineage the code expects for `name`: the code's versions of every stage before it. */
  codeLineage(name: string): Lineage;
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
    if (!Number.isInteger(stage.lookbackDays) || stage.lookbackDays < 0 || stage.lookbackDays > 366) {
      problems.push({
        field: `${at}.lookbackDays`,
        value: stage.lookbackDays,
        accepted: 'a whole number from 0 to 366',
      });
    }
    if (i === 0 && stage.lookbackDays > 0) {
      problems.push({
        field: `${at}.lookbackDays`,
        value: stage.lookbackDays,
        accepted: '0 for the first stage, which has no input stage',
      });
    }
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

  const frozen = Object.freeze([...stages]);
  const index = new Map(frozen.map((stage, i) => [stage.name, i]));
  const lineages = new Map<string, Lineage>();
  let upstream: Record<string, number> = {};
  for (const stage of frozen) {
    lineages.set(stage.name, Object.freeze({ ...upstream }));
    upstream = { ...upstream, [stage.name]: stage.version };
  }
  const names = Object.freeze(frozen.map((stage) => stage.name));

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
    inputOf: (name) => (indexOf(name) === 0 ? undefined : frozen[indexOf(name) - 1]),
    codeLineage: (name) => lineages.get(frozen[indexOf(name)].name)!,
  };
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
