/**
 * Ctrl-C while a run or a backfill is under way: exit at once with 130 (128 + SIGINT, what a shell
 * reports for it), saying what happened to the work and how to resume.
 *
 * Stopping at once is safe: each stage commits its data and its ledger row in one transaction, so
 * an interrupted stage leaves nothing behind, and the next command takes over the lease.
 */
import type { CliIo } from './io';

export const INTERRUPTED_EXIT = 130;

/** Runs `work`; a Ctrl-C meanwhile prints `message` on stderr and exits 130. */
export async function exitOnInterrupt<T>(io: CliIo, message: string, work: () => Promise<T>): Promise<T> {
  const onInterrupt = () => {
    // The progress bar hides the cursor and owns the line: show it again, start a new line.
    if (io.isTty) process.stderr.write('\u001b[?25h\n');
    io.err(message);
    process.exit(INTERRUPTED_EXIT);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** What an interrupted command says: locally how to resume, with `--aws` that the execution goes on. */
export function interruptedMessage(options: {
  readonly aws: boolean;
  readonly command: 'run' | 'backfill';
  /** The command that resumes (`hindsight backfill --auto`, with the global options typed). */
  readonly resume: string;
  /** `hindsight status`, with the global options typed. */
  readonly status: string;
}): string {
  if (options.aws) {
    return (
      `Interrupted: stopped following the ${options.command === 'run' ? 'daily run' : 'backfill'}; ` +
      `it goes on in AWS. \`${options.status}\` shows it.`
    );
  }
  const resumes =
    options.command === 'backfill'
      ? `\`${options.resume}\` resumes: it reruns what is still stale or missing.`
      : `\`${options.resume}\` reruns the date it was on; the same \`run\` again runs the dates after it.`;
  return `Interrupted: the stage under way was rolled back; the dates and stages done are kept. ${resumes}`;
}
