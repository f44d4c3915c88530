/**
 * The examples `--help` shows: one per command, under the command's own help and all of them under
 * `hindsight --help`, from this one table.
 */
import type { Command } from 'commander';

/** One line a user can paste, and what it does. */
const EXAMPLES: Readonly<Record<string, { readonly line: string; readonly does: string }>> = {
  init: { line: 'hindsight init my-pipeline', does: 'start a project with an example pipeline' },
  run: { line: 'hindsight run --date 2026-11-23', does: 'run one date through the daily workflow' },
  plan: { line: 'hindsight plan --from 2026-11-01', does: 'what a backfill would rerun, and why' },
  backfill: { line: 'hindsight backfill --auto --yes', does: 'rerun whatever is stale or missing' },
  status: { line: 'hindsight status --html status.html', does: 'the grid of dates × stages as a page' },
  migrate: { line: 'hindsight migrate', does: 'apply the ledger migrations to the database' },
  lock: { line: 'hindsight lock --check', does: "fail when a stage's code changed without a version bump" },
  'transition new': {
    line: 'hindsight transition new clear_scores --stage score',
    does: "scaffold a fix for score's next version",
  },
  transition: {
    line: 'hindsight transition new clear_scores --stage score',
    does: "scaffold a fix for score's next version",
  },
  verify: { line: 'hindsight verify --sample 7', does: 'recompute 7 random dates and compare' },
};

/** Adds the examples: each registered command's under its help, every one under the program's. */
export function addExamples(program: Command): void {
  const shown: string[] = [];
  const visit = (command: Command, path: string) => {
    const example = EXAMPLES[path];
    if (example !== undefined) {
      command.addHelpText('after', `\nExample:\n  $ ${example.line}`);
      if (!shown.some((line) => line.includes(example.line)))
        shown.push(`  $ ${example.line.padEnd(52)} # ${example.does}`);
    }
    for (const sub of command.commands) visit(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  for (const command of program.commands) visit(command, command.name());
  program.addHelpText('after', `\nExamples:\n${shown.join('\n')}`);
}
