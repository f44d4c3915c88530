/** What every command shares with the terminal: where it writes, the clock, and the exit codes. */
import { HindsightError } from '../lambdas/engine/errors';
import type { ExecutionOutcome } from '../local/local-workflows';

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
export class RunFailedError extends HindsightError {}

export function describeFailure(what: string, outcome: ExecutionOutcome): string {
  if (outcome.status === 'ABORTED') return `${what} was stopped.`;
  if (outcome.status === 'FAILED') return `${what} failed: ${outcome.error}: ${outcome.cause}`;
  return `${what} succeeded.`;
}
