import { type FieldNames, fieldName, type InputProblem, InvalidInputError } from './errors';

/** A calendar date as `YYYY-MM-DD`, the only date form Hindsight passes around. */
export type IsoDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** The first year Hindsight takes: earlier dates are typing mistakes, not data. */
export const FIRST_YEAR = 1900;

/** What a date field accepts: the refusal of anything that is no calendar date (`2026-02-30`, `26-1-1`). */
export const DATE_FORM = 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31';

/** What a refusal says of a real calendar date before 1900 (`0001-01-01` is real, but too early). */
export const EARLY_DATE_FORM = `a date in ${FIRST_YEAR} or later (YYYY-MM-DD): Hindsight takes no earlier dates`;

/** True when `value` is a calendar date written as `YYYY-MM-DD` (so `2026-02-30` is not), in 1900 or later. */
export function isIsoDate(value: unknown): value is IsoDate {
  return dateProblem(value) === null;
}

/**
 * What is wrong with `value` as a date, as the accepted form to state: `EARLY_DATE_FORM` for a real
 * date before 1900, `DATE_FORM` for anything else that is no date; null for a date.
 */
export function dateProblem(value: unknown): string | null {
  if (typeof value !== 'string') return DATE_FORM;
  const match = ISO_DATE.exec(value);
  if (!match) return DATE_FORM;
  const [, y, m, d] = match;
  const time = new Date(0);
  time.setUTCFullYear(Number(y), Number(m) - 1, Number(d));
  if (
    time.getUTCFullYear() !== Number(y) ||
    time.getUTCMonth() !== Number(m) - 1 ||
    time.getUTCDate() !== Number(d)
  )
    return DATE_FORM;
  return Number(y) >= FIRST_YEAR ? null : EARLY_DATE_FORM;
}

/** Returns `value` as an IsoDate or throws an InvalidInputError naming `field`. */
export function parseIsoDate(value: unknown, field = 'date'): IsoDate {
  const problem = dateProblem(value);
  if (problem !== null) throw InvalidInputError.of(field, value, problem);
  return value as IsoDate;
}

function toEpochDay(date: IsoDate): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

function fromEpochDay(day: number): IsoDate {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: IsoDate, days: number): IsoDate {
  return fromEpochDay(toEpochDay(date) + days);
}

/** Number of days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  return toEpochDay(to) - toEpochDay(from);
}

/** Every date from `from` to `to`, both included, ascending. Empty when `to` is before `from`. */
export function dateRange(from: IsoDate, to: IsoDate): IsoDate[] {
  const dates: IsoDate[] = [];
  const last = toEpochDay(to);
  for (let day = toEpochDay(from); day <= last; day++) dates.push(fromEpochDay(day));
  return dates;
}

/** The UTC calendar date of an instant. */
export function dateOf(instant: Date): IsoDate {
  return instant.toISOString().slice(0, 10);
}

/**
 * What is wrong with a range of past dates (either end may be absent): an end after yesterday, `to`
 * before `from`, more than `maxDays` days. `covers` and `advice` word the last, e.g. "a backfill covers"
 * and "; split a longer one". `names` spells `from` and `to` as the entry point does (a CLI's flags).
 */
export function pastRangeProblems(
  range: { readonly from?: IsoDate; readonly to?: IsoDate },
  today: IsoDate,
  maxDays: number,
  covers: string,
  advice = '',
  names?: FieldNames,
): InputProblem[] {
  const problems: InputProblem[] = [];
  const yesterday = addDays(today, -1);
  for (const field of ['from', 'to'] as const) {
    const date = range[field];
    if (date !== undefined && date > yesterday) {
      problems.push({
        field: fieldName(field, names),
        value: date,
        accepted: `a date up to yesterday, ${yesterday} (today and later have not happened yet)`,
      });
    }
  }
  const { from, to } = range;
  const toField = fieldName('to', names);
  if (from !== undefined && to !== undefined) {
    if (to < from) {
      problems.push({
        field: toField,
        value: to,
        accepted: `a date on or after ${fieldName('from', names)} (${from})`,
      });
    } else if (daysBetween(from, to) + 1 > maxDays) {
      problems.push({
        field: toField,
        value: to,
        accepted: `a date up to ${addDays(from, maxDays - 1)}: ${covers} at most ${maxDays} days from ${from}${advice}`,
      });
    }
  }
  return problems;
}

/** How far back a daily run may go without saying so: see `earliestDailyDate`. */
export interface DailyDateBound {
  /** The earliest date a daily run takes without the opt-in. */
  readonly earliest: IsoDate;
  /** Why, for the refusal: "history starts on …" or "at most … days back". */
  readonly why: string;
}

/**
 * The earliest date a daily run takes unless its input opts in: the history start (the first date of
 * the ledger or of the daily runs started) minus `reach`, the days a daily run reads before its date
 * (the pipeline's dependency reach), and never more than `maxDays` back from today, the most one
 * backfill covers. Without any history, only the second bound holds: the first run starts history.
 */
export function earliestDailyDate(
  today: IsoDate,
  maxDays: number,
  historyStart: IsoDate | null,
  reach: number,
): DailyDateBound {
  const oldest: DailyDateBound = {
    earliest: addDays(today, -maxDays),
    why: `at most ${maxDays} days back (hindsight:maxBackfillDays), the most one backfill covers`,
  };
  if (historyStart === null) return oldest;
  const near = addDays(historyStart, -reach);
  if (near < oldest.earliest) return oldest;
  return {
    earliest: near,
    why:
      `history starts on ${historyStart}, and a daily run reads at most ${reach} ` +
      `day${reach === 1 ? '' : 's'} before its date (the longest chain of lookbacks)`,
  };
}
