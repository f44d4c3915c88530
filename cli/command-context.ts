/**
 * What every command gets: the global options, checked; the project's pipeline; the target it acts
 * on (the local data directory, or with `--aws` a deployed stack), opened after the command has
 * checked its own input and closed whatever happens.
 */
import type { Command } from 'commander';
import { dateOf, type IsoDate } from '../lambdas/engine/dates';
import { type FieldNames, type InputProblem, InvalidInputError } from '../lambdas/engine/errors';
import { readProjectConfig } from '../lib/config';
import { STACK_NAME, STACK_NAME_FORM } from '../lib/stack-outputs';
import { maskDatabaseUrl } from '../local/database-url';
import { type CliIo, wantsColour } from './io';
import { type GlobalOptions, loadPipeline, type ProjectPipeline, type Session } from './session';
import type { Target } from './target';

/** Days `start` catches up and `status` shows when no range is given. */
export const CATCH_UP_DAYS = 30;

/**
 * The flags the CLI builds each input field from, so that its refusals name what the user typed
 * (`Invalid --start-stage`) where the console's name the JSON field (`Invalid startStage`).
 */
export const FLAG_NAMES: FieldNames = {
  mode: '--auto',
  from: '--from',
  to: '--to',
  startStage: '--start-stage',
  stages: '--stage',
  dryRun: '--dry-run',
  date: '--date',
  since: '--since',
  extendHistory: '--extend-history',
  sample: '--sample',
  seed: '--seed',
};

export interface CommandContext {
  readonly io: CliIo;
  /** The global options, with DATABASE_URL read for local commands. */
  globals(): TargetOptions;
  /** Today's date by the CLI's clock. */
  today(): IsoDate;
  /** The project's pipeline (`hindsight:pipeline`, or `--stages`). */
  load(): ProjectPipeline;
  /** The longest range a backfill or run may cover: `hindsight:maxBackfillDays` of the project. */
  maxDays(loaded: ProjectPipeline): number;
  /** Opens the command's target (after its input was checked), runs `work`, closes it. */
  withTarget(loaded: ProjectPipeline, work: (target: Target) => Promise<void>): Promise<void>;
  /** The local data directory itself, for what only it has (the migrations applied on opening). */
  withSession(loaded: ProjectPipeline, work: (session: Session) => Promise<void>): Promise<void>;
  /** Refuses `--aws` for a command that works on the project or the laptop only. */
  localOnly(command: string, why: string): void;
  /** Refuses `--stages` for a command that works on the project's own pipeline files. */
  projectPipelineOnly(command: string, why: string): void;
  /**
   * `hindsight <the global options typed> <args>`: a command to paste, acting on what this one
   * acted on (a database URL given as a flag is masked).
   */
  commandLine(args: readonly string[]): string;
  /** Whether to colour the output (`--no-color`, NO_COLOR, FORCE_COLOR, a terminal). */
  colour(): boolean;
}

export function commandContext(program: Command, io: CliIo, argv: readonly string[] = []): CommandContext {
  const invokedAs = ['hindsight', ...argv].join(' ');
  const globals = (): TargetOptions => {
    const options = { ...program.opts<TargetOptions>(), invokedAs };
    if (options.aws) return options; // DATABASE_URL is a local setting
    // --database-url as given (even empty, which is refused); DATABASE_URL when set and not empty.
    if (options.databaseUrl !== undefined) return options;
    const fromEnvironment = process.env.DATABASE_URL;
    return fromEnvironment
      ? { ...options, databaseUrl: fromEnvironment, databaseUrlName: 'DATABASE_URL' }
      : options;
  };
  return {
    io,
    globals,
    today: () => dateOf(io.now()),
    load: () => loadPipeline(globals(), io.cwd),
    maxDays: (loaded) => readProjectConfig(loaded.project).maxBackfillDays,
    withTarget: async (loaded, work) => {
      const target = await openTarget(globals(), loaded, io);
      try {
        await work(target);
      } finally {
        await target.close();
      }
    },
    withSession: async (loaded, work) => {
      const { openSession } = await import('./session');
      const session = await openSession(globals(), loaded, undefined, openingNotices(io));
      try {
        await work(session);
      } finally {
        await session.close();
      }
    },
    localOnly: (command, why) => {
      if (program.opts<TargetOptions>().aws)
        throw InvalidInputError.of('--aws', true, `no --aws with ${command}: ${why}`);
      checkTargetOptions(globals());
    },
    projectPipelineOnly: (command, why) => {
      const { stages } = program.opts<TargetOptions>();
      if (stages !== undefined)
        throw InvalidInputError.of('--stages', stages, `no --stages with ${command}: ${why}`);
    },
    colour: () => wantsColour(program.opts<{ color?: boolean }>(), io.env ?? process.env, io.isTty),
    commandLine: (args) => {
      const options = program.opts<TargetOptions>();
      const typed: string[] = [];
      if (options.aws) typed.push('--aws');
      for (const [flag, value] of [
        ['--stack', options.stack],
        ['--region', options.region],
        ['--data-dir', program.getOptionValueSource('dataDir') === 'default' ? undefined : options.dataDir],
        [
          '--database-url',
          options.databaseUrl === undefined ? undefined : maskDatabaseUrl(options.databaseUrl),
        ],
        ['--stages', options.stages],
      ] as const) {
        if (value !== undefined) typed.push(flag, value);
      }
      for (const param of options.param ?? []) typed.push('--param', param);
      return ['hindsight', ...typed, ...args].map(shellWord).join(' ');
    },
  };
}

/** A word as a POSIX shell reads it back: as is when it is plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

export interface BackfillOptions {
  auto?: boolean;
  from?: string;
  to?: string;
  startStage?: string;
  /** `--stage a,b`: the stages to rerun, with everything downstream of them. */
  stage?: string;
  dryRun?: boolean;
  yes?: boolean;
  name?: string;
  /** False with --no-wait. */
  wait: boolean;
}
/** The global options: the local ones, and those that point at a deployed stack instead. */
export interface TargetOptions extends GlobalOptions {
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
export function checkTargetOptions(options: TargetOptions, backfill?: BackfillOptions): TargetOptions {
  const problems: InputProblem[] = [];
  if (options.aws) {
    if (options.databaseUrl !== undefined)
      problems.push({
        field: '--database-url',
        value: maskDatabaseUrl(options.databaseUrl),
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
/**
 * On a terminal, a line on stderr for each slow step of opening a data directory (creating its
 * database, synthesizing the workflows), so a first command is never silent for long; piped
 * output stays as it was (and `--json` stdout clean).
 */
function openingNotices(io: CliIo): ((line: string) => void) | undefined {
  return io.isTty ? (line) => io.err(line) : undefined;
}

/** The local runtime on the data directory, or with `--aws` the deployed stack. */
export async function openTarget(
  options: TargetOptions,
  loaded: ProjectPipeline,
  io: CliIo,
): Promise<Target> {
  // Loaded here: the local runtime (PGlite, dynalite) and the AWS SDK are for the commands that open one.
  if (!options.aws) {
    const { openLocalTarget } = await import('./target');
    return openLocalTarget(options, loaded, openingNotices(io));
  }
  const { openAwsTarget } = await import('./aws/aws-target');
  return openAwsTarget({
    stackName: options.stack ?? readProjectConfig(loaded.project).stackName,
    ...(options.region === undefined ? {} : { region: options.region }),
    pipeline: loaded.pipeline,
    transitions: loaded.transitions,
    maxBackfillDays: readProjectConfig(loaded.project).maxBackfillDays,
    now: io.now,
    pollMs: io.pollMs ?? 5_000,
  });
}
/** Drops undefined fields, so a flag not given is a field not sent (strict schemas refuse unknown ones). */
export function definedOnly<V>(values: Record<string, V | undefined>): Record<string, V> {
  const defined: Record<string, V> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) defined[key] = value;
  return defined;
}
