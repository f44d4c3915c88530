/**
 * "Resolve Date": which date a daily run is for, and how far back a daily date may go.
 */
import * as z from 'zod/mini';
import { addDays, dateOf, dateProblem, earliestDailyDate, type IsoDate } from '../engine/dates';
import { type FieldNames, fieldName, InvalidInputError } from '../engine/errors';
import { dependencyReach } from '../engine/plan';
import { isoDate, parseInput } from '../engine/schemas';
import { readHistoryStart, recordDueDate } from '../ledger/due-dates';
import type { DailyInput, ResolvedDate } from './contracts';
import type { StepDependencies } from './steps';

const dailyInputSchema = z.strictObject(
  {
    date: z.optional(isoDate),
    scheduledTime: z.optional(z.iso.datetime({ error: 'an ISO-8601 instant such as 2026-01-31T02:00:00Z' })),
    extendHistory: z.optional(z.boolean({ error: 'true or false' })),
  },
  { error: 'an object: {} or {"date": "YYYY-MM-DD"}' },
);

/**
 * "Resolve Date": an explicit date wins; otherwise the day before the scheduled time (or now). The
 * date is refused when it lies before the history start minus the dependency reach, or more than
 * `maxBackfillDays` back, unless the input says `"extendHistory": true`: a mistyped date would
 * otherwise be due forever, and every auto plan would cover the years from it. The date is recorded
 * as due, so the auto plan reaches it even when this run writes nothing (it gives up waiting for the
 * lease, or is refused because earlier dates are stale).
 */
export async function resolveDate(
  deps: Pick<StepDependencies, 'now' | 'sql' | 'pipeline' | 'maxBackfillDays'>,
  raw: unknown,
): Promise<ResolvedDate> {
  const input: DailyInput = parseInput(dailyInputSchema, raw);
  const resolved = dailyRunDate(deps.now(), input);
  if (!input.extendHistory) {
    await checkDailyDate(deps, resolved.date, {
      field: input.date === undefined ? 'scheduledTime' : 'date',
      value: input.date ?? input.scheduledTime,
    });
  }
  await recordDueDate(deps.sql, resolved.date);
  return resolved;
}

/** The date a daily run is for, from its input and the clock: a date, in 1900 or later, up to yesterday. */
function dailyRunDate(now: Date, input: DailyInput): ResolvedDate {
  const today = dateOf(now);
  if (input.date !== undefined) {
    if (input.date >= today) {
      throw InvalidInputError.of(
        'date',
        input.date,
        `a date up to yesterday (${addDays(today, -1)}); a day is processed once it is over`,
      );
    }
    return { date: input.date };
  }
  const reference = input.scheduledTime === undefined ? now : new Date(input.scheduledTime);
  const date = addDays(dateOf(reference), -1);
  // The day before the instant, checked as any date is: an instant in 1900-01-01 would give 1899-12-31.
  const problem = dateProblem(date);
  if (problem !== null) {
    throw InvalidInputError.of('scheduledTime', input.scheduledTime, `${SCHEDULED_DATE} ${problem}`);
  }
  if (date >= today) {
    throw InvalidInputError.of(
      'scheduledTime',
      input.scheduledTime,
      `an instant up to now (${now.toISOString()})`,
    );
  }
  return { date };
}

/** How a refusal of `scheduledTime` words its date: the run is for the day before the instant. */
const SCHEDULED_DATE = 'an instant whose day before, the date of the run, is';

/**
 * How far back a daily run may go without opting in: from the history start (the first date of the
 * ledger or of the due dates) minus the pipeline's dependency reach, and at most `maxBackfillDays`.
 */
export async function dailyDateBound(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'maxBackfillDays' | 'now'>,
) {
  return earliestDailyDate(
    dateOf(deps.now()),
    deps.maxBackfillDays,
    await readHistoryStart(deps.sql),
    dependencyReach(deps.pipeline),
  );
}

/**
 * Refuses `date` when it is earlier than `dailyDateBound` allows, naming the field it came from
 * (`date`, `scheduledTime`; a CLI's flag through `names`) and how to opt in (`"extendHistory": true`;
 * the CLI's `--extend-history`).
 */
export async function checkDailyDate(
  deps: Pick<StepDependencies, 'sql' | 'pipeline' | 'maxBackfillDays' | 'now'>,
  date: IsoDate,
  source: { readonly field: string; readonly value: unknown; readonly names?: FieldNames },
): Promise<void> {
  const bound = await dailyDateBound(deps);
  if (date >= bound.earliest) return;
  const form = `a date from ${bound.earliest} on: ${bound.why}`;
  throw InvalidInputError.of(
    fieldName(source.field, source.names),
    source.value,
    `${source.field === 'scheduledTime' ? `${SCHEDULED_DATE} ${form}` : form}. To run an earlier date on ` +
      `purpose, add ${source.names?.extendHistory ?? '"extendHistory": true'} ` +
      '(every auto backfill then covers the dates from it on)',
  );
}
