import type { LeaseKind } from './lease-types';

/**
 * Errors are types: adapters translate driver and SDK failures into these, and the state
 * machines' Retry and Catch clauses match on their `name`.
 */
export class HindsightError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * An input was refused before anything was written. Names the field, the value and the accepted form.
 * The message stays short whatever the input: echoed values are cut (see `echo`), and at most
 * `PROBLEMS_SHOWN` problems are listed, the others counted.
 */
export class InvalidInputError extends HindsightError {
  readonly problems: readonly InputProblem[];
  constructor(problems: readonly InputProblem[]) {
    const shown = problems.slice(0, PROBLEMS_SHOWN).map(formatProblem);
    const more = problems.length - shown.length;
    super(
      [
        ...shown,
        ...(more > 0 ? [`(and ${count(more)} more problems, ${count(problems.length)} in all)`] : []),
      ].join('\n'),
    );
    this.problems = problems;
  }

  static of(field: string, value: unknown, accepted: string): InvalidInputError {
    return new InvalidInputError([{ field, value, accepted }]);
  }
}

export interface InputProblem {
  /** Dotted path of the offending field, e.g. `from` or `stages[2].name`. */
  readonly field: string;
  readonly value: unknown;
  /** What would have been accepted, e.g. `a real calendar date as YYYY-MM-DD`. */
  readonly accepted: string;
}

/**
 * How an entry point spells each input field, by its JSON name: the console and the handlers use
 * the JSON fields themselves (no entry), the CLI its flags (`from` is `--from`).
 */
export type FieldNames = Readonly<Record<string, string>>;

/** `field` as `names` spells it; a dotted path (`stages.2`) by its first part when that part is renamed. */
export function fieldName(field: string, names?: FieldNames): string {
  if (names === undefined) return field;
  return names[field] ?? names[field.split('.')[0]] ?? field;
}

/** The most characters of a value (as JSON) or of a field name an error message echoes. */
export const ECHO_LIMIT = 100;
/** The most characters of an accepted form a message shows (it may quote a path or a loading error). */
export const ACCEPTED_LIMIT = 1_000;
/** The most problems one InvalidInputError lists; the others are counted. */
export const PROBLEMS_SHOWN = 10;

/**
 * `value` as an error message shows it: JSON (`nothing` when absent), cut to `limit` characters
 * with a marker naming its full length, so a 200 KB input gives a message of a few lines.
 */
export function echo(value: unknown, limit = ECHO_LIMIT): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return cut(text, limit);
}

/** `text` cut to `limit` characters, marked `… [cut: N characters in all]` when it was longer. */
export function cut(text: string, limit = ECHO_LIMIT): string {
  if (text.length <= limit) return text;
  // Never split a surrogate pair: the message may be written as JSON.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(limit - 1)) ? limit - 1 : limit;
  return `${text.slice(0, end)}… [cut: ${count(text.length)} characters in all]`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function formatProblem({ field, value, accepted }: InputProblem): string {
  return `Invalid ${cut(field)}: got ${echo(value)}; expected ${cut(accepted, ACCEPTED_LIMIT)}.`;
}

/** A stage threw, or its SQL failed; its transaction was rolled back and the ledger is unchanged. */
export class StageFailedError extends HindsightError {
  constructor(
    readonly stage: string,
    readonly date: string,
    cause: unknown,
  ) {
    super(`Stage ${stage} failed for ${date}: ${describeCause(cause)}`, { cause });
  }
}

/** A stage needs an input that has not been produced (the chain must run in order). */
export class MissingInputError extends HindsightError {
  constructor(
    readonly stage: string,
    readonly date: string,
    readonly input: string,
  ) {
    super(
      `Stage ${stage} cannot run for ${date}: its input ${input} has not run for ${date}. ` +
        `Run the chain from ${input} (or use a backfill in auto mode, which plans this for you).`,
    );
  }
}

/**
 * How a message from the workflows tells its reader to start the auto backfill: the console's
 * execution input. The CLI shows those messages with its own command in its place
 * (`startAutoBackfillFor` in cli/io.ts), so each message is written once.
 */
export const START_AUTO_BACKFILL = 'Start the backfill {"mode": "auto"}';

/**
 * A daily run refused to start its stages: earlier dates it reads are planned to be rewritten, so
 * its output would be stale at once. Nothing was written; the backfill named runs them, then it.
 */
export class EarlierDatesStaleError extends HindsightError {
  constructor(
    readonly date: string,
    /** The earlier dates the backfill reruns first, ascending. */
    readonly earlierDates: readonly string[],
    /** One line per run of those dates: where they rerun from, which stage reads them, and why. */
    details: readonly string[],
  ) {
    super(
      `The daily run for ${date} did not run: ${earlierDates.length} earlier ` +
        `date${earlierDates.length === 1 ? '' : 's'} it reads ${earlierDates.length === 1 ? 'is' : 'are'} ` +
        `planned to be rewritten, so its results would be stale at once.\n` +
        details.map((line) => `  ${line}\n`).join('') +
        `Nothing was written, and ${date} stays due. ${START_AUTO_BACKFILL}: it reruns ` +
        `those dates in order, then runs ${date}.`,
    );
  }
}

/** The fencing token presented is older than one already used: the lease was taken over. */
export class StaleFenceTokenError extends HindsightError {
  constructor(
    readonly presented: number,
    readonly current: number,
  ) {
    super(
      `Refused to commit with fencing token ${presented}: token ${current} has already been used, ` +
        "so this holder's lease was taken over. Nothing was written.",
    );
  }
}

/** Acquire was refused: another execution holds a lease that has not expired and is still running. */
export class LeaseHeldError extends HindsightError {
  constructor(
    readonly holder: string,
    readonly kind: LeaseKind,
    readonly expiresAt: number,
  ) {
    super(
      `The lease is held by ${kind} execution ${holder} until ${new Date(expiresAt).toISOString()}, ` +
        'and that execution is still running. Wait for it to finish (or for the lease to expire), then acquire again.',
    );
  }
}

/** Renew was refused: the lease was taken over or released, so this execution must stop writing. */
export class LeaseLostError extends HindsightError {
  constructor(
    readonly executionId: string,
    readonly token: number,
    readonly currentHolder: string | null,
    readonly currentToken: number | null,
  ) {
    const now =
      currentToken === null
        ? 'no lease exists'
        : currentHolder === null
          ? `it was released (token ${currentToken})`
          : `it is now held by ${currentHolder} with token ${currentToken}`;
    super(
      `Execution ${executionId} no longer holds the lease with token ${token}: ${now}. ` +
        'Stop this execution; anything it still commits is refused by the fencing token.',
    );
  }
}

/** A lease write lost the race to other writers on every attempt; nothing was changed, so it is safe to retry. */
export class LeaseContendedError extends HindsightError {
  constructor(
    readonly action: 'acquire' | 'renew' | 'release',
    readonly executionId: string,
    readonly attempts: number,
  ) {
    super(
      `Could not ${action} the lease for ${executionId}: ${attempts} conditional writes in a row lost the race ` +
        'to other writers. Nothing was changed; try again.',
    );
  }
}

/** An applied schema migration's file changed after it was applied. */
export class MigrationChangedError extends HindsightError {}

/** The local data directory is used by another process. */
export class DataDirectoryInUseError extends HindsightError {}

export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
