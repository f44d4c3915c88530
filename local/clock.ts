/**
 * The clock of the CLI and its local runtime. `HINDSIGHT_TODAY=YYYY-MM-DD` moves it to noon UTC of
 * that day (it keeps ticking from there), so that "yesterday", the 30 days `start` catches up and
 * the dates an auto plan covers are the same on every run: the README's transcripts are made that
 * way (test/readme/). Unset, it is the real clock. A value that is no date is refused (exit 2) by
 * the first command that reads the clock, as a bad flag is.
 */
import { InvalidInputError } from '../lambdas/engine/errors';

export const TODAY_VARIABLE = 'HINDSIGHT_TODAY';

export function environmentClock(environment: NodeJS.ProcessEnv = process.env): () => Date {
  const today = environment[TODAY_VARIABLE];
  if (today === undefined || today === '') return () => new Date();
  const start = /^\d{4}-\d{2}-\d{2}$/.test(today) ? Date.parse(`${today}T12:00:00Z`) : Number.NaN;
  if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== today) {
    return () => {
      throw InvalidInputError.of(TODAY_VARIABLE, today, 'a real calendar date written as YYYY-MM-DD');
    };
  }
  const offset = start - Date.now();
  return () => new Date(Date.now() + offset);
}
