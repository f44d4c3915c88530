import { InvalidInputError } from './errors';

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
