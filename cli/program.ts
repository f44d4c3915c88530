import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { addDays, dateOf, dateRange, daysBetween, type IsoDate, isIsoDate } from '../lambdas/engine/dates';
import { HindsightError, type InputProblem, InvalidInputError } from '../lambdas/engine/errors';
import type { Pipeline } from '../lambdas/engine/pipeline';
import { assessRange, formatPlan, indexLedger, parseBackfillInput, planToJson } from '../lambdas/engine/plan';
import { isoDate, parseInput } from '../lambdas/engine/schemas';
import { readDueRange } from '../lambdas/ledger/due-dates';
import { readHistory, readLedger, toEntry } from '../lambdas/ledger/ledger-store';
import { computePlan } from '../lambdas/workflow/steps';
import { DEFAULT_CONFIG, type HindsightConfig, readProjectConfig } from '../lib/config';
import { findProject } from '../lib/project';
import { STACK_NAME, STACK_NAME_FORM } from '../lib/stack-outputs';
import { DEFAULT_DATA_DIR } from '../local/local-services';
import type { ExecutionOutcome } from '../local/local-workflows';
import { openAwsTarget } from './aws/aws-target';
import {
  type GlobalOptions,
  loadPipeline,
  openSession,
  type ProjectPipeline,
  type Session,
  transitionsDirectory,
} from './session';
import { renderStatusPage } from './status-page';
import { formatStatus, type StatusReport } from './status-view';
import { type BackfillProgressUpdate, openLocalTarget, type Target } from './target';
import { scaffoldTransition } from './transition-scaffold';
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
} from './version-guard';

/** Exit codes: 0 success, 1 a run failed, 2 bad usage (nothing was touched). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Where the CLI writes; tests and the terminal differ only here. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTty: boolean;
  readonly now: () => Date;
  /**
   * Time between two looks at an execution running in AWS (`--aws`), in ms.
   * @default 5000
   */
  readonly pollMs?: number;
  /**
   * Where the command runs: the project is the nearest folder with a cdk.json from here up.
   * @default process.cwd()
   */
  readonly cwd?: string;
}

/** A run of the workflows failed (exit 1). */
class RunFailedError extends HindsightError {}

const CATCH_UP_DAYS = 30;

/** The project's settings where there is a project; the defaults otherwise (for the help text). */
function configForHelp(cwd: string | undefined): HindsightConfig {
  try {
    return readProjectConfig(findProject(cwd));
  } catch {
    return DEFAULT_CONFIG;
  }
}

/** The longest range a backfill or run may cover: `hindsight:maxBackfillDays` of the project. */
function maxDays(loaded: ProjectPipeline): number {
  return readProjectConfig(loaded.project).maxBackfillDays;
}

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
    .option('--stages <module>', 'a module exporting `pipeline` to use instead of hindsight:pipeline')
    .option(
      '--param <name=value>',
      "a parameter for the pipeline's stages, over hindsight:params (repeat it for more)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--aws',
      'act on the deployed stack instead: ledger through the Data API, workflows in Step Functions',
    )
    .option(
      '--stack <name>',
      `with --aws: the stack's name (default: hindsight:stackName in cdk.json, ${configForHelp(io.cwd).stackName})`,
    )
    .option('--region <region>', "with --aws: the stack's region (default: AWS_REGION or the profile's)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    })
    .showHelpAfterError('(run with --help for usage)');

  const globals = (): TargetOptions => {
    const options = program.opts<TargetOptions>();
    if (options.aws) return options; // DATABASE_URL is a local setting
    const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    return { ...options, ...(databaseUrl ? { databaseUrl } : {}) };
  };
  const today = () => dateOf(io.now());
  /** Opens the command's target (after its input was checked), runs `work`, closes it. */
  const withTarget = async (loaded: ProjectPipeline, work: (target: Target) => Promise<void>) => {
    const target = await openTarget(globals(), loaded, io);
    try {
      await work(target);
    } finally {
      await target.close();
    }
  };
  /** Refuses `--aws` for a command that works on the repository or the laptop only. */
  const localOnly = (command: string, why: string) => {
    if (program.opts<TargetOptions>().aws)
      throw InvalidInputError.of('--aws', true, `no --aws with ${command}: ${why}`);
    checkTargetOptions(globals());
  };

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
      checkTargetOptions(globals());
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const request = parseRunOptions(options, today(), maxDays(loaded));
      await withTarget(loaded, async (target) => {
        const dates =
          request.dates ?? (await missingDates(target, pipeline, request.since, addDays(today(), -1)));
        await runDaily(target, pipeline, dates, io);
      });
    });

  program
    .command('start', { hidden: true })
    .description(`catch up the last ${CATCH_UP_DAYS} days, then show the status grid (npm start)`)
    .action(async () => {
      localOnly('start', 'it catches up the local data directory (use run --aws)');
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      await withTarget(loaded, async (target) => {
        const since = addDays(today(), -CATCH_UP_DAYS);
        await runDaily(
          target,
          pipeline,
          await missingDates(target, pipeline, since, addDays(today(), -1)),
          io,
        );
        io.out('');
        io.out(formatStatus(await statusReport(target, pipeline, {}), io.isTty));
      });
    });

  program
    .command('plan')
    .description('show what a backfill would rerun: per date its start stage, and the totals')
    .option('--from <date>', 'first date to consider')
    .option('--to <date>', 'last date to consider')
    .option('--json', 'print the plan as JSON')
    .action(async (options: { from?: string; to?: string; json?: boolean }) => {
      checkTargetOptions(globals());
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const input = parseBackfillInput(
        { mode: 'auto', ...definedOnly({ from: options.from, to: options.to }) },
        pipeline,
        today(),
        maxDays(loaded),
      );
      await withTarget(loaded, async (target) => {
        const { plan } = await computePlan(target.deps, input);
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
    .option(
      '--name <name>',
      'the execution name (default: generated); Step Functions refuses a name used before',
    )
    .option('--no-wait', 'with --aws: start the execution and return, without following it')
    .action(async (options: BackfillOptions) => {
      const targetOptions = checkTargetOptions(globals(), options);
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const raw = backfillInputOf(options);
      parseBackfillInput(raw, pipeline, today(), maxDays(loaded)); // refuse bad input before opening anything
      await withTarget(loaded, async (target) => {
        const { dryRun, plan } = await computePlan(target.deps, raw);
        io.out(formatPlan(plan, pipeline));
        if (dryRun || plan.dates.length === 0) return;
        if (targetOptions.aws) {
          io.out(
            `(Planned with this checkout's stage code; the deployed backfill plans again with the deployed code.)`,
          );
        }
        if (!options.yes && io.isTty && !(await confirm('Run this backfill?'))) {
          io.out('Cancelled; nothing was changed.');
          return;
        }
        const execution = await target.start('backfill', raw, options.name);
        if (targetOptions.aws)
          io.out(`Started backfill execution ${execution.executionId} on ${target.description}.`);
        if (!options.wait) {
          io.out(
            'Not waiting for it (--no-wait): follow it in the Step Functions console or with `status --aws`.',
          );
          return;
        }
        const progress = new BackfillProgress(io, plan.dates.length);
        const outcome = await execution.wait((update) => progress.update(update));
        progress.end();
        if (outcome.status !== 'SUCCEEDED') throw new RunFailedError(describeFailure('Backfill', outcome));
        io.out(`Backfill done: ${backfillTotals(outcome.output, plan.dates.length, plan.totals.stageRuns)}.`);
      });
    });

  program
    .command('status')
    .description('a grid of dates × stages (fresh / stale / missing), the lease and the last runs')
    .option('--from <date>', 'first date shown')
    .option('--to <date>', 'last date shown')
    .option('--json', 'print the status as JSON')
    .option('--html <file>', 'write the status as a self-contained HTML page to FILE')
    .action(async (options: { from?: string; to?: string; json?: boolean; html?: string }) => {
      checkTargetOptions(globals());
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const range = parseInput(rangeSchema, definedOnly({ from: options.from, to: options.to }));
      if (options.html !== undefined) checkOutputFile('--html', options.html);
      await withTarget(loaded, async (target) => {
        const report = await statusReport(target, pipeline, range);
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
      localOnly('migrate', 'in AWS the after-deploy trigger applies migrations on every cdk deploy');
      const loaded = loadPipeline(globals(), io.cwd);
      await withSession(globals(), loaded, async (session) => {
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
      localOnly('lock', 'the version guard checks the code in this checkout');
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const root = loaded.project.root;
      const path = join(root, LOCK_FILE_NAME);
      const recorded = readLockFile(path);
      const stagesDirectory = relative(root, join(dirname(loaded.source.entry), 'stages'));
      const current = computeLock(pipeline, { root, stagesDirectory });
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
      localOnly('transition new', 'it writes a file in this checkout');
      const loaded = loadPipeline(globals(), io.cwd);
      const { pipeline } = loaded;
      const directory = transitionsDirectory(loaded);
      const created = scaffoldTransition(directory, pipeline, name, options.stage);
      io.out(
        `Wrote ${relative(loaded.project.root, created.file)} and listed it in ` +
          `${relative(loaded.project.root, join(directory, 'index.ts'))}.\n` +
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
  name?: string;
  /** False with --no-wait. */
  wait: boolean;
}

/** The global options: the local ones, and those that point at a deployed stack instead. */
interface TargetOptions extends GlobalOptions {
  aws?: boolean;
  stack?: string;
  region?: string;
}

/** Step Functions execution names: letters, digits, - and _ (the subset logs and ARNs never escape), 1 to 80. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * Refuses global options that do not fit together: local ones with `--aws` (they would be
 * ignored), AWS ones without it, and a backfill's `--name`/`--no-wait` that cannot apply.
 */
function checkTargetOptions(options: TargetOptions, backfill?: BackfillOptions): TargetOptions {
  const problems: InputProblem[] = [];
  if (options.aws) {
    if (options.databaseUrl !== undefined)
      problems.push({
        field: '--database-url',
        value: options.databaseUrl,
        accepted: 'no --database-url with --aws (the stack has its database)',
      });
    if (options.param !== undefined)
      problems.push({
        field: '--param',
        value: options.param.join(' '),
        accepted: 'no --param with --aws (the deployed stages have hindsight:params)',
      });
    if (options.stack !== undefined && !STACK_NAME.test(options.stack))
      problems.push({ field: '--stack', value: options.stack, accepted: STACK_NAME_FORM });
    if (options.region !== undefined && !AWS_REGION.test(options.region))
      problems.push({
        field: '--region',
        value: options.region,
        accepted: 'an AWS region such as eu-west-1',
      });
  } else {
    for (const [field, value] of [
      ['--stack', options.stack],
      ['--region', options.region],
    ] as const) {
      if (value !== undefined) problems.push({ field, value, accepted: `${field} only with --aws` });
    }
    if (backfill && !backfill.wait)
      problems.push({
        field: '--no-wait',
        value: true,
        accepted: '--no-wait only with --aws (a local backfill runs in this process)',
      });
  }
  if (backfill?.name !== undefined && !EXECUTION_NAME.test(backfill.name)) {
    problems.push({
      field: '--name',
      value: backfill.name,
      accepted: 'an execution name of 1 to 80 letters, digits, - or _',
    });
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  return options;
}

/** The local runtime on the data directory, or with `--aws` the deployed stack. */
async function openTarget(options: TargetOptions, loaded: ProjectPipeline, io: CliIo): Promise<Target> {
  if (!options.aws) return openLocalTarget(options, loaded);
  return openAwsTarget({
    stackName: options.stack ?? readProjectConfig(loaded.project).stackName,
    ...(options.region === undefined ? {} : { region: options.region }),
    pipeline: loaded.pipeline,
    transitions: loaded.transitions,
    maxBackfillDays: maxDays(loaded),
    now: io.now,
    pollMs: io.pollMs ?? 5_000,
  });
}

const rangeSchema = z
  .strictObject({ from: isoDate.optional(), to: isoDate.optional() })
  .superRefine((range, ctx) => {
    if (isIsoDate(range.from) && isIsoDate(range.to) && range.to < range.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `a date on or after from (${range.from})` });
    }
  });

/** `run`'s flags, checked before anything is opened. */
function parseRunOptions(
  options: RunOptions,
  today: IsoDate,
  maxDays: number,
): { dates?: IsoDate[]; since: IsoDate } {
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
      if (daysBetween(o.from, o.to) + 1 > maxDays) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: `a range of at most ${maxDays} days` });
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

/** The local data directory itself, for what only it has (the migrations applied on opening). */
async function withSession(
  options: GlobalOptions,
  pipeline: ProjectPipeline,
  work: (session: Session) => Promise<void>,
): Promise<void> {
  const session = await openSession(options, pipeline);
  try {
    await work(session);
  } finally {
    await session.close();
  }
}

/** Dates in `[since, until]` whose last stage has not run. */
async function missingDates(
  target: Target,
  pipeline: Pipeline,
  since: IsoDate,
  until: IsoDate,
): Promise<IsoDate[]> {
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
): Promise<void> {
  if (dates.length === 0) {
    io.out('Nothing to run: every date is done.');
    return;
  }
  const started = Date.now();
  for (const date of dates) {
    const began = Date.now();
    const outcome = await (await target.start('daily', { date })).wait();
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
  target: Target,
  pipeline: Pipeline,
  range: { from?: IsoDate; to?: IsoDate },
): Promise<StatusReport> {
  const { sql } = target.deps;
  const ledger = await readLedger(sql);
  const index = indexLedger(pipeline, ledger.map(toEntry));
  // Dates the daily workflow was started for but that never ran show as missing too.
  const due = await readDueRange(sql);
  const latest =
    index.latest === null || (due !== null && due.to > index.latest) ? (due?.to ?? null) : index.latest;
  const to = range.to ?? latest;
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
  const lease = (await target.leaseStore.read()) ?? null;
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

/**
 * The backfill's totals from its output (the deployed workflow's own plan), or the local plan's.
 * `Finish Backfill` outputs the plan it carried out.
 */
function backfillTotals(output: unknown, dates: number, stageRuns: number): string {
  const totals =
    output !== null && typeof output === 'object' && 'totals' in output
      ? (output.totals as { dates?: unknown; stageRuns?: unknown })
      : {};
  const count = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);
  return `${count(totals.dates, dates)} dates, ${count(totals.stageRuns, stageRuns)} stage-runs`;
}

/** Dates done of planned, with the current date and step: a bar on a terminal, a line per change otherwise. */
class BackfillProgress {
  private bar: SingleBar | undefined;
  private last = '';

  constructor(
    private readonly io: CliIo,
    private total: number,
  ) {
    if (io.isTty) {
      this.bar = new SingleBar({
        format: ' {bar} {value}/{total} dates | {date} {detail}',
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(total, 0, { date: '', detail: '' });
    }
  }

  update({ done, total, date, detail }: BackfillProgressUpdate): void {
    if (total !== undefined && total > 0 && total !== this.total) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    this.bar?.update(done, { date: date ?? '', detail });
    if (this.bar) return;
    // Piped: one line when a date starts (locally) or when the count of dates done changes (AWS).
    const line =
      date === undefined
        ? `[${done}/${this.total}] dates done${detail ? ` (${detail})` : ''}`
        : `[${done + 1}/${this.total}] ${date}`;
    if (line !== this.last) this.io.out(line);
    this.last = line;
  }

  end(): void {
    this.bar?.stop();
  }
}
