import { type InputProblem, InvalidInputError } from './errors';

/** A calendar date as `YYYY-MM-DD`, the only date form Hindsight passes around. */
export type IsoDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** True when `value` is a real calendar date written as `YYYY-MM-DD` (so `2026-02-30` is not). */
export function isIsoDate(value: unknown): value is IsoDate {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [, y, m, d] = match;
  const time = Date.UTC(Number(y), Number(m) - 1, Number(d));
  return new Date(time).toISOString().slice(0, 10) === value && Number(y) >= 1900;
}

/** Returns `value` as an IsoDate or throws an InvalidInputError naming `field`. */
export function parseIsoDate(value: unknown, field = 'date'): IsoDate {
  if (!isIsoDate(value)) {
    throw InvalidInputError.of(field, value, 'a real calendar date written as YYYY-MM-DD, e.g. 2026-01-31');
  }
  return value;
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
 * and "; split a longer one".
 */
export function pastRangeProblems(
  range: { readonly from?: IsoDate; readonly to?: IsoDate },
  today: IsoDate,
  maxDays: number,
  covers: string,
  advice = '',
): InputProblem[] {
  const problems: InputProblem[] = [];
  const yesterday = addDays(today, -1);
  for (const field of ['from', 'to'] as const) {
    const date = range[field];
    if (date !== undefined && date > yesterday) {
      problems.push({
        field,
        value: date,
        accepted: `a date up to yesterday, ${yesterday} (today and later have not happened yet)`,
      });
    }
  }
  const { from, to } = range;
  if (from !== undefined && to !== undefined) {
    if (to < from) {
      problems.push({ field: 'to', value: to, accepted: `a date on or after from (${from})` });
    } else if (daysBetween(from, to) + 1 > maxDays) {
      problems.push({
        field: 'to',
        value: to,
        accepted: `a date up to ${addDays(from, maxDays - 1)}: ${covers} at most ${maxDays} days from ${from}${advice}`,
      });
    }
  }
  return problems;
}
