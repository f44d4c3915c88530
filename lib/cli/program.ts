import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { addDays, dateOf, dateRange, daysBetween, type IsoDate, isIsoDate } from '../../lambdas/engine/dates';
import { HindsightError, InvalidInputError } from '../../lambdas/engine/errors';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import {
  assessRange,
  formatPlan,
  indexLedger,
  parseBackfillInput,
  planToJson,
} from '../../lambdas/engine/planner';
import { isoDate, parseInput } from '../../lambdas/engine/schemas';
import { readHistory, readLedger, toEntry } from '../../lambdas/ledger/ledger-store';
import { computePlan } from '../../lambdas/workflow/steps';
import { readRepositoryConfig } from '../config';
import { DEFAULT_DATA_DIR, LOCAL_LEASE_TABLE } from '../local/local-services';
import type { ExecutionOutcome, TaskEvent } from '../local/local-workflows';
import { scaffoldTransition } from '../transition-scaffold';
import {
  acceptStage,
  checkLock,
  computeLock,
  formatFindings,
  LOCK_FILE_NAME,
  lockVerdict,
  readLockFile,
  updateLock,
  writeLockFile,
} from '../version-guard';
import { type GlobalOptions, loadPipeline, openSession, type Session } from './session';
import { renderStatusPage } from './status-page';
import { formatStatus, type StatusReport } from './status-view';

/** Exit codes: 0 success, 1 a run failed, 2 bad usage (nothing was touched). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Where the CLI writes; tests and the terminal differ only here. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTty: boolean;
  readonly now: () => Date;
}

/** A run of the workflows failed (exit 1). */
class RunFailedError extends HindsightError {}

const MAX_DAYS = readRepositoryConfig().maxBackfillDays;
const CATCH_UP_DAYS = 30;

/** Runs the `hindsight` command line; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof InvalidInputError) {
      io.err(`${error.message}\nNothing was changed.`);
      return EXIT.usage;
    }
    io.err(error instanceof Error ? error.message : String(error));
    return EXIT.failed;
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('hindsight')
    .description('A daily data pipeline that can fix its own past — run locally on embedded PostgreSQL.')
    .option('--data-dir <dir>', 'where local state lives', DEFAULT_DATA_DIR)
    .option('--database-url <url>', 'a real PostgreSQL server instead of the embedded one (or DATABASE_URL)')
    .option('--stages <module>', 'a module exporting `pipeline` to use instead of lambdas/stages')
    .option('--rows-per-day <n>', 'size of the example source (orders per day)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    })
    .showHelpAfterError('(run with --help for usage)');

  const globals = (): GlobalOptions => {
    const options = program.opts<GlobalOptions>();
    const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    return { ...options, ...(databaseUrl ? { databaseUrl } : {}) };
  };
  const today = () => dateOf(io.now());

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
    .action(async (options: RunOptions) => {
      const pipeline = loadPipeline(globals());
      const request = parseRunOptions(options, today());
      await withSession(globals(), pipeline, undefined, async (session) => {
        const dates =
          request.dates ?? (await missingDates(session, pipeline, request.since, addDays(today(), -1)));
        await runDaily(session, pipeline, dates, io);
      });
    });

  program
    .command('start', { hidden: true })
    .description(`catch up the last ${CATCH_UP_DAYS} days, then show the status grid (npm start)`)
    .action(async () => {
      const pipeline = loadPipeline(globals());
      await withSession(globals(), pipeline, undefined, async (session) => {
        const since = addDays(today(), -CATCH_UP_DAYS);
        await runDaily(
          session,
          pipeline,
          await missingDates(session, pipeline, since, addDays(today(), -1)),
          io,
        );
        io.out('');
        io.out(formatStatus(await statusReport(session, pipeline, {}), io.isTty));
      });
    });

  program
    .command('plan')
    .description('show what a backfill would rerun: per date its start stage, and the totals')
    .option('--from <date>', 'first date to consider')
    .option('--to <date>', 'last date to consider')
    .option('--json', 'print the plan as JSON')
    .action(async (options: { from?: string; to?: string; json?: boolean }) => {
      const pipeline = loadPipeline(globals());
      const input = parseBackfillInput(
        { mode: 'auto', ...definedOnly({ from: options.from, to: options.to }) },
        pipeline,
        today(),
        MAX_DAYS,
      );
      await withSession(globals(), pipeline, undefined, async (session) => {
        const { plan } = await computePlan(session.services.deps, input);
        io.out(options.json ? JSON.stringify(planToJson(plan), null, 2) : formatPlan(plan, pipeline));
      });
    });

  program
    .command('backfill')
    .description('rerun past dates through the backfill workflow, in order, each from its start stage')
    .option('--auto', 'rerun whatever the plan finds stale or missing')
    .option('--from <date>', 'first date')
    .option('--to <date>', 'last date')
    .addOption(new Option('--start-stage <stage>', 'rerun every date of the range from this stage'))
    .option('--dry-run', 'show the plan only')
    .option('--yes', 'do not ask for confirmation')
    .action(async (options: BackfillOptions) => {
      const pipeline = loadPipeline(globals());
      const raw = backfillInputOf(options);
      parseBackfillInput(raw, pipeline, today(), MAX_DAYS); // refuse bad input before opening anything
      const progress = new BackfillProgress(io);
      await withSession(
        globals(),
        pipeline,
        (event) => progress.onTask(event),
        async (session) => {
          const { dryRun, plan } = await computePlan(session.services.deps, raw);
          io.out(formatPlan(plan, pipeline));
          if (dryRun || plan.dates.length === 0) return;
          if (!options.yes && io.isTty && !(await confirm('Run this backfill?'))) {
            io.out('Cancelled; nothing was changed.');
            return;
          }
          progress.begin(plan.dates.length);
          const execution = session.workflows.start('backfill', raw);
          const outcome = await execution.done;
          progress.end();
          if (outcome.status !== 'SUCCEEDED') throw new RunFailedError(describeFailure('Backfill', outcome));
          io.out(`Backfill done: ${plan.dates.length} dates, ${plan.totals.stageRuns} stage-runs.`);
        },
      );
    });

  program
    .command('status')
    .description('a grid of dates × stages (fresh / stale / missing), the lease and the last runs')
    .option('--from <date>', 'first date shown')
    .option('--to <date>', 'last date shown')
    .option('--json', 'print the status as JSON')
    .option('--html <file>', 'write the status as a self-contained HTML page to FILE')
    .action(async (options: { from?: string; to?: string; json?: boolean; html?: string }) => {
      const pipeline = loadPipeline(globals());
      const range = parseInput(rangeSchema, definedOnly({ from: options.from, to: options.to }));
      if (options.html !== undefined) checkOutputFile('--html', options.html);
      await withSession(globals(), pipeline, undefined, async (session) => {
        const report = await statusReport(session, pipeline, range);
        if (options.html === undefined) {
          io.out(options.json ? JSON.stringify(report, null, 2) : formatStatus(report, io.isTty));
        } else {
          writeFileSync(options.html, renderStatusPage(report, { generatedAt: io.now() }));
          io.out(`Wrote ${options.html}`);
        }
      });
    });

  program
    .command('migrate')
    .description('apply pending schema migrations (every command also does this first)')
    .action(async () => {
      const pipeline = loadPipeline(globals());
      await withSession(globals(), pipeline, undefined, async (session) => {
        const { applied, alreadyApplied } = session.services.migrations;
        io.out(
          applied.length === 0
            ? `Schema is up to date (${alreadyApplied} migrations applied before).`
            : `Applied ${applied.join(', ')} (${alreadyApplied} were applied before).`,
        );
      });
    });

  program
    .command('lock')
    .description(
      "record each stage's version and code fingerprint in hindsight.lock.json (the version guard)",
    )
    .option('--check', "fail when a stage's code changed without a version bump, or the lock is out of date")
    .option(
      '--accept <stage>',
      "accept a stage's code change as non-breaking (a refactor: nothing to rebuild)",
    )
    .action(async (options: { check?: boolean; accept?: string }) => {
      const pipeline = loadPipeline(globals());
      const root = join(__dirname, '..', '..');
      const path = join(root, LOCK_FILE_NAME);
      const recorded = readLockFile(path);
      const current = computeLock(pipeline, { root });
      if (options.accept !== undefined) {
        writeLockFile(
          path,
          acceptStage(recorded ?? { lockfileVersion: 1, stages: {} }, current, options.accept),
        );
        io.out(
          `Accepted ${options.accept}'s change as non-breaking: nothing to rebuild. Commit ${LOCK_FILE_NAME}.`,
        );
        return;
      }
      const findings = checkLock(current, recorded);
      const verdict = lockVerdict(findings);
      if (options.check) {
        if (verdict === 'ok') {
          io.out(`${LOCK_FILE_NAME} matches every stage's code and version.`);
          return;
        }
        throw new RunFailedError(formatFindings(findings));
      }
      writeLockFile(path, updateLock(recorded, current));
      io.out(
        verdict === 'ok'
          ? `${LOCK_FILE_NAME} was already up to date.`
          : `${formatFindings(findings)}\nRecorded in ${LOCK_FILE_NAME}; commit it.`,
      );
    });

  const transition = program
    .command('transition')
    .description('one-off per-date fixes, kept like migrations');
  transition
    .command('new')
    .description("write a ready-to-edit transition for a stage's next version and list it")
    .argument('<name>', 'lower_snake_case name, e.g. clear_scores')
    .requiredOption('--stage <stage>', 'the stage whose next version needs the fix')
    .action((name: string, options: { stage: string }) => {
      const pipeline = loadPipeline(globals());
      const created = scaffoldTransition(
        join(__dirname, '..', '..', 'lambdas', 'transitions'),
        pipeline,
        name,
        options.stage,
      );
      io.out(
        `Wrote ${created.file} and listed it in lambdas/transitions/index.ts.\n` +
          `Fill in apply(), then bump ${created.stage} to version ${created.toVersion}: the next backfill ` +
          `applies ${created.id} to every date it reruns from ${created.stage}, once per date.`,
      );
    });

  return program;
}

interface RunOptions {
  date?: string;
  from?: string;
  to?: string;
  since?: string;
}

interface BackfillOptions {
  auto?: boolean;
  from?: string;
  to?: string;
  startStage?: string;
  dryRun?: boolean;
  yes?: boolean;
}

const rangeSchema = z
  .strictObject({ from: isoDate.optional(), to: isoDate.optional() })
  .superRefine((range, ctx) => {
    if (isIsoDate(range.from) && isIsoDate(range.to) && range.to < range.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `a date on or after from (${range.from})` });
    }
  });

/** `run`'s flags, checked before anything is opened. */
function parseRunOptions(options: RunOptions, today: IsoDate): { dates?: IsoDate[]; since: IsoDate } {
  const yesterday = addDays(today, -1);
  const upToYesterday = `a date up to yesterday (${yesterday}); a day is processed once it is over`;
  const schema = z
    .strictObject({
      date: isoDate.optional(),
      from: isoDate.optional(),
      to: isoDate.optional(),
      since: isoDate.optional(),
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
        ctx.addIssue({ code: 'custom', path: ['to'], message: `a date on or after from (${o.from})` });
      }
      if (daysBetween(o.from, o.to) + 1 > MAX_DAYS) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: `a range of at most ${MAX_DAYS} days` });
      }
    });
  const parsed = parseInput(schema, definedOnly({ ...options }));
  const since = parsed.since ?? addDays(today, -CATCH_UP_DAYS);
  if (parsed.date) return { dates: [parsed.date], since };
  if (parsed.from && parsed.to) return { dates: dateRange(parsed.from, parsed.to), since };
  return { since };
}

/** The backfill execution input the flags describe: exactly what one would paste in the console. */
function backfillInputOf(options: BackfillOptions): { [key: string]: string | boolean } {
  if (options.auto && options.startStage !== undefined) {
    throw InvalidInputError.of(
      '--start-stage',
      options.startStage,
      "no --start-stage with --auto (auto finds each date's start stage)",
    );
  }
  if (!options.auto && options.startStage === undefined) {
    throw InvalidInputError.of('--auto', undefined, '--auto, or --from, --to and --start-stage');
  }
  return definedOnly<string | boolean>({
    mode: options.auto ? 'auto' : 'explicit',
    from: options.from,
    to: options.to,
    startStage: options.startStage,
    dryRun: options.dryRun ? true : undefined,
  });
}

/** Drops undefined fields, so a flag not given is a field not sent (strict schemas refuse unknown ones). */
function definedOnly<V>(values: Record<string, V | undefined>): Record<string, V> {
  const defined: Record<string, V> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) defined[key] = value;
  return defined;
}

async function withSession(
  options: GlobalOptions,
  pipeline: Pipeline,
  onTask: ((event: TaskEvent) => void) | undefined,
  work: (session: Session) => Promise<void>,
): Promise<void> {
  const session = await openSession(options, pipeline, onTask);
  try {
    await work(session);
  } finally {
    await session.close();
  }
}

/** Dates in `[since, until]` whose last stage has not run. */
async function missingDates(
  session: Session,
  pipeline: Pipeline,
  since: IsoDate,
  until: IsoDate,
): Promise<IsoDate[]> {
  const last = pipeline.names[pipeline.names.length - 1];
  const done = new Set(
    (await readLedger(session.services.deps.sql, { from: since, to: until }))
      .filter((row) => row.stage === last)
      .map((row) => row.date),
  );
  return dateRange(since, until).filter((date) => !done.has(date));
}

/** Runs the daily workflow for each date, in order; stops at the first failure. */
async function runDaily(
  session: Session,
  pipeline: Pipeline,
  dates: readonly IsoDate[],
  io: CliIo,
): Promise<void> {
  if (dates.length === 0) {
    io.out('Nothing to run: every date is done.');
    return;
  }
  const started = Date.now();
  for (const date of dates) {
    const began = Date.now();
    const outcome = await session.workflows.start('daily', { date }).done;
    if (outcome.status !== 'SUCCEEDED')
      throw new RunFailedError(describeFailure(`Daily run for ${date}`, outcome));
    const stages = stageRows(outcome.output, pipeline);
    io.out(`${date}  ${stages}  (${((Date.now() - began) / 1000).toFixed(2)} s)`);
  }
  io.out(
    `Ran ${dates.length} dates through ${pipeline.names.length} stages in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
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

function describeFailure(what: string, outcome: ExecutionOutcome): string {
  if (outcome.status === 'ABORTED') return `${what} was stopped.`;
  if (outcome.status === 'FAILED') return `${what} failed: ${outcome.error}: ${outcome.cause}`;
  return `${what} succeeded.`;
}

async function statusReport(
  session: Session,
  pipeline: Pipeline,
  range: { from?: IsoDate; to?: IsoDate },
): Promise<StatusReport> {
  const { sql, dynamo } = { sql: session.services.deps.sql, dynamo: session.services.dynamo };
  const ledger = await readLedger(sql);
  const index = indexLedger(pipeline, ledger.map(toEntry));
  const to = range.to ?? index.latest;
  const from =
    range.from ?? (to === null ? null : maxDate(index.earliest ?? to, addDays(to, -(CATCH_UP_DAYS - 1))));
  const dates = (from === null || to === null ? [] : assessRange(index, from, to)).map((row) => ({
    ...row,
    cells: row.cells.map((cell, i) => ({
      ...cell,
      recordedVersion: index.byStage[i].get(row.date)?.version ?? null,
    })),
  }));
  const versions = Object.fromEntries(pipeline.stages.map((stage) => [stage.name, stage.version]));
  const counts = { fresh: 0, stale: 0, missing: 0 };
  for (const row of dates) for (const cell of row.cells) counts[cell.state]++;
  const lease =
    (await new DynamoDbLeaseStore({ client: dynamo.client, tableName: LOCAL_LEASE_TABLE }).read()) ?? null;
  const lastRuns = await readHistory(sql, 5);
  return { stages: pipeline.names, versions, from, to, dates, counts, lease, lastRuns };
}

/** Refuses an output file whose parent directory does not exist (before anything is opened). */
function checkOutputFile(option: string, file: string): void {
  const parent = dirname(resolve(file));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw InvalidInputError.of(option, file, `a file in an existing directory (${parent} does not exist)`);
  }
}

function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Dates done / planned, with the current date and stage: a bar on a terminal, a line per date otherwise. */
class BackfillProgress {
  private bar: SingleBar | undefined;
  private done = -1;
  private total = 0;
  private date = '';

  constructor(private readonly io: CliIo) {}

  begin(total: number): void {
    this.total = total;
    if (this.io.isTty) {
      this.bar = new SingleBar({
        format: ' {bar} {value}/{total} dates | {date} {stage}',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(total, 0, { date: '', stage: '' });
    }
  }

  onTask(event: TaskEvent): void {
    if (event.state === 'Prepare Date') {
      this.done++;
      const input = event.input as { item?: { date?: string } };
      this.date = input.item?.date ?? '';
      if (this.bar) this.bar.update(this.done, { date: this.date, stage: 'preparing' });
      else if (this.total > 0) this.io.out(`[${this.done + 1}/${this.total}] ${this.date}`);
    } else if (event.state.startsWith('Run ') && this.bar) {
      this.bar.update(Math.max(this.done, 0), { date: this.date, stage: event.state.slice(4).toLowerCase() });
    }
  }

  end(): void {
    if (this.bar) {
      this.bar.update(this.done + 1, { date: '', stage: 'done' });
      this.bar.stop();
    }
  }
}
