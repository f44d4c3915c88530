import type { IsoDate } from './dates';
import { type InputProblem, InvalidInputError } from './errors';
import { IDENTIFIER, type Pipeline } from './pipeline';
import type { SqlExecutor } from './sql';

/** What a transition's `apply` receives: the date's transaction and the date. */
export interface TransitionContext {
  readonly sql: SqlExecutor;
  readonly date: IsoDate;
}

/**
 * A one-off, per-date fix tied to a stage version, kept like a migration: e.g. "when transform
 * goes to v2, delete the date's rows of the table it no longer owns". The backfill applies it to
 * each date on which that stage reruns, once, before the date's stages run,
 * in one transaction with its ledger row. It must be idempotent: it may be retried after a crash.
 */
export interface TransitionDefinition {
  /** Sortable and unique: `NNNN_lower_snake_name`, the order transitions apply in. */
  readonly id: string;
  readonly stage: string;
  /** The stage version this transition leads to: it applies while the code is at this version. */
  readonly toVersion: number;
  readonly description: string;
  readonly apply: (context: TransitionContext) => Promise<void>;
}

export type Transition = Readonly<TransitionDefinition>;

export const TRANSITION_ID = /^\d{4}_[a-z0-9_]{1,60}$/;

export function defineTransition(definition: TransitionDefinition): Transition {
  return Object.freeze({ ...definition });
}

/** Validates the ordered transition list against the pipeline, collecting every problem. */
export function defineTransitions(
  pipeline: Pipeline,
  transitions: readonly Transition[],
): readonly Transition[] {
  const problems: InputProblem[] = [];
  const seen = new Set<string>();
  transitions.forEach((transition, i) => {
    const at = `transitions[${i}]`;
    if (!TRANSITION_ID.test(transition.id)) {
      problems.push({
        field: `${at}.id`,
        value: transition.id,
        accepted: 'NNNN_lower_snake_name, e.g. 0001_clear_scores',
      });
    }
    if (seen.has(transition.id))
      problems.push({ field: `${at}.id`, value: transition.id, accepted: 'an id no other transition uses' });
    seen.add(transition.id);
    if (!IDENTIFIER.test(transition.stage) || !pipeline.names.includes(transition.stage)) {
      problems.push({
        field: `${at}.stage`,
        value: transition.stage,
        accepted: `one of ${pipeline.names.join(', ')}`,
      });
    }
    if (!Number.isInteger(transition.toVersion) || transition.toVersion < 2) {
      problems.push({
        field: `${at}.toVersion`,
        value: transition.toVersion,
        accepted: 'a whole number from 2 (the version it leads to)',
      });
    }
  });
  if (problems.length > 0) throw new InvalidInputError(problems);
  return Object.freeze([...transitions].sort((a, b) => a.id.localeCompare(b.id)));
}

/**
 * The transitions a date gets when it reruns `stages`: those whose stage reruns and whose target
 * version is the stage's version in the code, less those already applied to the date. A
 * transition for a version the code has moved past, or for a stage the date does not rerun, does
 * not apply.
 */
export function transitionsFor(
  pipeline: Pipeline,
  transitions: readonly Transition[],
  stages: readonly string[],
  applied: ReadonlySet<string>,
): Transition[] {
  return transitions.filter(
    (transition) =>
      stages.includes(transition.stage) &&
      pipeline.names.includes(transition.stage) &&
      pipeline.stage(transition.stage).version === transition.toVersion &&
      !applied.has(transition.id),
  );
}
