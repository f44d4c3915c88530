/**
 * The `hindsight` command line: the global options, one module per command (cli/commands/), and
 * how an outcome becomes an exit code.
 *
 * Only commander and light modules are loaded to parse the command line (and for `--help`): each
 * command's action imports what it needs (`await import(…)`), so that aws-cdk-lib, the AWS SDK,
 * PGlite, dynalite and the workflow interpreter load only for the commands that use them.
 */
import { Command, CommanderError } from 'commander';
import { InvalidInputError } from '../lambdas/engine/errors';
import { DEFAULT_CONFIG, type HindsightConfig, readProjectConfig } from '../lib/config';
import { findProject } from '../lib/project';
import { DEFAULT_DATA_DIR } from '../local/data-directory';
import { commandContext } from './command-context';
import { registerBackfill } from './commands/backfill';
import { registerInit } from './commands/init';
import { registerLock } from './commands/lock';
import { registerMigrate } from './commands/migrate';
import { registerPlan } from './commands/plan';
import { registerRun } from './commands/run';
import { registerStatus } from './commands/status';
import { registerTransition } from './commands/transition';
import { registerVerify } from './commands/verify';
import { addExamples } from './help';
import { type CliIo, EXIT } from './io';
import { packageVersion } from './version';

export { type CliIo, EXIT } from './io';

/** Runs the `hindsight` command line; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io, argv);
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

function buildProgram(io: CliIo, argv: readonly string[]): Command {
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
    .option('--no-color', 'no colours, also when NO_COLOR is set (FORCE_COLOR forces them)')
    .version(packageVersion(), '--version', 'print the version')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    })
    .showHelpAfterError('(run with --help for usage)');

  const ctx = commandContext(program, io, argv);
  for (const register of [
    registerRun,
    registerPlan,
    registerBackfill,
    registerStatus,
    registerMigrate,
    registerLock,
    registerTransition,
    registerVerify,
    registerInit,
  ]) {
    register(program, ctx);
  }
  addExamples(program);
  return program;
}

/** The project's settings where there is a project; the defaults otherwise (for the help text). */
function configForHelp(cwd: string | undefined): HindsightConfig {
  try {
    return readProjectConfig(findProject(cwd));
  } catch {
    return DEFAULT_CONFIG;
  }
}
