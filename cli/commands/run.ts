/** `run` and `start`: dates through the daily workflow, one at a time, in order. */
import type { Command } from 'commander';
import { addDays, dateRange, daysBetween, type IsoDate, isIsoDate } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { CommandContext } from '../command-context';
import { CATCH_UP_DAYS, checkTargetOptions, definedOnly, FLAG_NAMES } from '../command-context';
import { exitOnInterrupt, interruptedMessage } from '../interrupt';
import { type CliIo, describeFailure, RunFailedError } from '../io';
import type { Target } from '../target';
import { count } from '../words';

export function registerRun(program: Command, ctx: CommandContext): void {
  program
    .command('run')
    .description('run the daily workflow for a date, a range, or every missing date up to yesterday')
    .option('--date <date>', 'one date (YYYY-MM-DD)')
    .option('--from <date>', 'first date of a range')
    .option('--to <date>', 'last date of a range')
    .option(
      '--since <date>',
      `with no date: catch up from this date (default: the last ${CATCH_UP_DAYS} days)`,
    )
    .option(
      '--extend-history',
      'run dates before where history starts (minus the days a run reads back), or more than hindsight:maxBackfillDays back',
    )
    .action(async (options: RunOptions) => {
      checkTargetOptions(ctx.globals());
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const request = await parseRunOptions(options, ctx.today(), ctx.maxDays(loaded));
      const { checkDailyDate } = await import('../../lambdas/workflow/resolve-date');
      const { sayStillStale } = await import('../stale-notice');
      await ctx.withTarget(loaded, async (target) => {
        const dates =
          request.dates ?? (await missingDates(target, pipeline, request.since, addDays(ctx.today(), -1)));
        // A date typed (or the start of a range) is held to the daily workflow's bound before anything
        // runs, and named by its flag; the dates of the default catch-up are the CLI's own.
        const typed = request.typed;
        const extendHistory = options.extendHistory === true || typed === undefined;
        if (!extendHistory && dates[0] !== undefined) {
          await checkDailyDate(target.deps, dates[0], { ...typed, names: FLAG_NAMES });
        }
        await exitOnInterrupt(ctx.io, interrupted(ctx), () =>
          runDaily(target, pipeline, dates, ctx.io, extendHistory, ctx.commandLine(['backfill', '--auto'])),
        );
        await sayStillStale(ctx, target, loaded);
      });
    });

  program
    .command('start', { hidden: true })
    .description(`catch up the last ${CATCH_UP_DAYS} days, then show the status grid (npm start)`)
    .action(async () => {
      ctx.localOnly('start', 'it catches up the local data directory (use run --aws)');
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const { sayStillStale } = await import('../stale-notice');
      const { formatStatus } = await import('../status-view');
      const { statusReport } = await import('./status');
      await ctx.withTarget(loaded, async (target) => {
        const since = addDays(ctx.today(), -CATCH_UP_DAYS);
        const dates = await missingDates(target, pipeline, since, addDays(ctx.today(), -1));
        await exitOnInterrupt(ctx.io, interrupted(ctx), () =>
          runDaily(target, pipeline, dates, ctx.io, true, ctx.commandLine(['backfill', '--auto'])),
        );
        await sayStillStale(ctx, target, loaded);
        ctx.io.out('');
        ctx.io.out(formatStatus(await statusReport(target, pipeline, {}), ctx.colour()));
      });
    });
}

/** What a Ctrl-C during daily runs says. */
function interrupted(ctx: CommandContext): string {
  return interruptedMessage({
    aws: ctx.globals().aws === true,
    command: 'run',
    resume: ctx.commandLine(['backfill', '--auto']),
    status: ctx.commandLine(['status']),
  });
}

interface RunOptions {
  date?: string;
  from?: string;
  to?: string;
  since?: string;
  extendHistory?: boolean;
}

/**
 * `run`'s flags, checked before anything is opened. `typed` is the flag the first date to run
 * comes from, with its value; absent for the default catch-up.
 */
async function parseRunOptions(
  options: RunOptions,
  today: IsoDate,
  maxDays: number,
): Promise<{
  dates?: IsoDate[];
  since: IsoDate;
  typed?: { field: 'date' | 'from' | 'since'; value: IsoDate };
}> {
  const { z } = await import('zod');
  const { isoDate, parseInput } = await import('../../lambdas/engine/schemas');
  const yesterday = addDays(today, -1);
  const upToYesterday = `a date up to yesterday (${yesterday}); a day is processed once it is over`;
  const schema = z
    .strictObject({
      date: z.optional(isoDate),
      from: z.optional(isoDate),
      to: z.optional(isoDate),
      since: z.optional(isoDate),
    })
    .superRefine((o, ctx) => {
      if (o.date && (o.from || o.to)) {
        ctx.addIssue({ code: 'custom', path: ['date'], message: 'either --date or --from/--to, not both' });
      }
      if ((o.from === undefined) !== (o.to === undefined)) {
        ctx.addIssue({ code: 'custom', path: [o.from ? 'to' : 'from'], message: '--from and --to together' });
      }
      // Cross-field checks only between dates that are themselves valid: one error per mistake.
      for (const key of ['date', 'to', 'since'] as const) {
        const value = o[key];
        if (isIsoDate(value) && value > yesterday)
          ctx.addIssue({ code: 'custom', path: [key], message: upToYesterday });
      }
      if (!isIsoDate(o.from) || !isIsoDate(o.to)) return;
      if (o.to < o.from) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: `a date on or after --from (${o.from})` });
      }
      if (daysBetween(o.from, o.to) + 1 > maxDays) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: `a range of at most ${maxDays} days` });
      }
    });
  const { date, from, to, since: sinceGiven } = options;
  const parsed = parseInput(schema, definedOnly({ date, from, to, since: sinceGiven }), '', FLAG_NAMES);
  const since = parsed.since ?? addDays(today, -CATCH_UP_DAYS);
  if (parsed.date) return { dates: [parsed.date], since, typed: { field: 'date', value: parsed.date } };
  if (parsed.from && parsed.to) {
    return { dates: dateRange(parsed.from, parsed.to), since, typed: { field: 'from', value: parsed.from } };
  }
  return parsed.since === undefined ? { since } : { since, typed: { field: 'since', value: parsed.since } };
}

/** Dates in `[since, until]` whose last stage has not run. */
async function missingDates(
  target: Target,
  pipeline: Pipeline,
  since: IsoDate,
  until: IsoDate,
): Promise<IsoDate[]> {
  const { readLedger } = await import('../../lambdas/ledger/ledger-store');
  const last = pipeline.names[pipeline.names.length - 1];
  const done = new Set(
    (await readLedger(target.deps.sql, { from: since, to: until }))
      .filter((row) => row.stage === last)
      .map((row) => row.date),
  );
  return dateRange(since, until).filter((date) => !done.has(date));
}

/** Runs the daily workflow for each date, in order; stops at the first failure. */
async function runDaily(
  target: Target,
  pipeline: Pipeline,
  dates: readonly IsoDate[],
  io: CliIo,
  extendHistory: boolean,
  /** The command that starts the auto backfill, named by the refusals that need one. */
  autoBackfill: string,
): Promise<void> {
  if (dates.length === 0) {
    io.out('Nothing to run: every date is done.');
    return;
  }
  const started = Date.now();
  for (const [done, date] of dates.entries()) {
    target.progress?.({ planned: dates.length, done });
    const began = Date.now();
    const outcome = await (
      await target.start('daily', extendHistory ? { date, extendHistory } : { date })
    ).wait();
    if (outcome.status !== 'SUCCEEDED')
      throw new RunFailedError(describeFailure(`Daily run for ${date}`, outcome, autoBackfill));
    const stages = stageRows(outcome.output, pipeline);
    io.out(`${date}  ${stages}  (${((Date.now() - began) / 1000).toFixed(2)} s)`);
  }
  io.out(
    `Ran ${count(dates.length, 'date')} through ${count(pipeline.names.length, 'stage')} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
}

function stageRows(output: unknown, pipeline: Pipeline): string {
  const stages =
    output !== null &&
    typeof output === 'object' &&
    'stages' in output &&
    output.stages &&
    typeof output.stages === 'object'
      ? (output.stages as Record<string, { rowsWritten?: number }>)
      : {};
  return pipeline.names.map((name) => `${name} ${stages[name]?.rowsWritten ?? '?'}`).join(' · ');
}
