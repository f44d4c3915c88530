/** What every command shares with the terminal: where it writes, the clock, and the exit codes. */
import { HindsightError, START_AUTO_BACKFILL } from '../lambdas/engine/errors';
import type { ExecutionOutcome } from '../local/local-workflows';

/** Exit codes: 0 success, 1 a run failed, 2 bad usage (nothing was touched). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Where the CLI writes; tests and the terminal differ only here. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly isTty: boolean;
  /**
   * Whether there is someone to ask: stdin is a terminal. Without one, a command that would ask
   * for confirmation refuses unless told `--yes`.
   * @default false
   */
  readonly canAsk?: boolean;
  /**
   * The environment variables read for colour (NO_COLOR, FORCE_COLOR).
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
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

/**
 * Whether to colour the output: never with `--no-color`; always when FORCE_COLOR is set (other
 * than 0 or false); never when NO_COLOR is set (not empty, https://no-color.org); else on a terminal.
 */
export function wantsColour(
  options: { readonly color?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  isTty: boolean,
): boolean {
  if (options.color === false) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force.toLowerCase() !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTty;
}

/** A run of the workflows failed (exit 1). */
export class RunFailedError extends HindsightError {}

/**
 * How an execution ended, in one message. `autoBackfill` is the command that starts the auto
 * backfill from here: it replaces the console input the workflows' messages name.
 */
export function describeFailure(what: string, outcome: ExecutionOutcome, autoBackfill?: string): string {
  if (outcome.status === 'ABORTED') return `${what} was stopped.`;
  if (outcome.status === 'FAILED') {
    const cause = lambdaErrorMessage(outcome.cause);
    return `${what} failed: ${outcome.error}: ${autoBackfill === undefined ? cause : startAutoBackfillFor(cause, autoBackfill)}`;
  }
  return `${what} succeeded.`;
}

/** A workflow's message as the CLI shows it: `Run \`hindsight backfill --auto\`` where it says to start the backfill in the console. */
export function startAutoBackfillFor(message: string, command: string): string {
  return message.replaceAll(START_AUTO_BACKFILL, `Run \`${command}\``);
}

/** A Lambda error reaches Step Functions as `{"errorType", "errorMessage", "trace"}`: its message. */
function lambdaErrorMessage(cause: string): string {
  if (!cause.startsWith('{')) return cause;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed !== null && typeof parsed === 'object' && 'errorMessage' in parsed) {
      return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
    }
  } catch {
    // Not JSON after all: shown as it is.
  }
  return cause;
}
