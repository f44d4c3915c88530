/** `backfill`: past dates through the backfill workflow, after showing the plan. */

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { CommandContext } from '../command-context';
import { type BackfillOptions, checkTargetOptions, definedOnly, FLAG_NAMES } from '../command-context';
import { exitOnInterrupt, interruptedMessage } from '../interrupt';
import { describeFailure, RunFailedError } from '../io';
import { count as counted } from '../words';

export function registerBackfill(program: Command, ctx: CommandContext): void {
  program
    .command('backfill')
    .description('rerun past dates through the backfill workflow, in order, each only its stale stages')
    .option('--auto', 'rerun whatever the plan finds stale or missing')
    .option('--from <date>', 'first date')
    .option('--to <date>', 'last date')
    .addOption(
      new Option(
        '--start-stage <stage>',
        'rerun every date of the range: this stage and all downstream of it',
      ),
    )
    .option('--stage <names>', 'rerun every date of the range: these stages (a,b) and all downstream of them')
    .option('--dry-run', 'show the plan only')
    .option('--yes', 'do not ask for confirmation')
    .option(
      '--name <name>',
      'the execution name (default: generated); Step Functions refuses a name used before',
    )
    .option('--no-wait', 'with --aws: start the execution and return, without following it')
    .action(async (options: BackfillOptions) => {
      const targetOptions = checkTargetOptions(ctx.globals(), options);
      const { formatPlan, parseBackfillInput } = await import('../../lambdas/engine/plan');
      const { computePlan } = await import('../../lambdas/workflow/steps');
      const { BackfillProgress } = await import('../progress');
      const loaded = ctx.load();
      const { sayStillStale, sayWhatStaysStale } = await import('../stale-notice');
      const { pipeline } = loaded;
      const raw = backfillInputOf(options);
      // Refuse bad input before opening anything, naming the flags typed.
      parseBackfillInput(raw, pipeline, ctx.today(), ctx.maxDays(loaded), FLAG_NAMES);
      if (!options.yes && !options.dryRun && !ctx.io.canAsk) {
        // As `terraform apply` does: with no one to answer, running anyway would skip the question.
        throw InvalidInputError.of(
          '--yes',
          undefined,
          '--yes: there is no terminal to confirm the backfill on (stdin is not a terminal); pass --yes to run it without asking, or --dry-run to see the plan only',
        );
      }
      await ctx.withTarget(loaded, async (target) => {
        const { dryRun, plan } = await computePlan(target.deps, raw, FLAG_NAMES);
        ctx.io.out(formatPlan(plan, pipeline));
        await sayWhatStaysStale(ctx, target, loaded, plan, options);
        if (dryRun || plan.dates.length === 0) return;
        if (targetOptions.aws) {
          ctx.io.out(
            `(Planned with this checkout's stage code; the deployed backfill plans again with the deployed code.)`,
          );
        }
        if (!options.yes && !(await confirm('Run this backfill?'))) {
          ctx.io.out('Cancelled; nothing was changed.');
          return;
        }
        target.progress?.({ planned: plan.dates.length, done: 0 });
        const execution = await target.start('backfill', raw, options.name);
        if (targetOptions.aws)
          ctx.io.out(`Started backfill execution ${execution.executionId} on ${target.description}.`);
        if (!options.wait) {
          ctx.io.out(
            'Not waiting for it (--no-wait): follow it in the Step Functions console or with `status --aws`.',
          );
          return;
        }
        const progress = new BackfillProgress(ctx.io, plan.dates.length);
        const interrupted = interruptedMessage({
          aws: targetOptions.aws === true,
          command: 'backfill',
          resume: ctx.commandLine(['backfill', '--auto']),
          status: ctx.commandLine(['status']),
        });
        const outcome = await exitOnInterrupt(ctx.io, interrupted, () =>
          execution.wait((update) => progress.update(update)),
        );
        progress.end(outcome.status === 'SUCCEEDED');
        if (outcome.status !== 'SUCCEEDED') {
          throw new RunFailedError(
            describeFailure('Backfill', outcome, ctx.commandLine(['backfill', '--auto'])),
          );
        }
        ctx.io.out(
          `Backfill done: ${backfillTotals(outcome.output, plan.dates.length, plan.totals.stageRuns)}.`,
        );
        await sayStillStale(ctx, target, loaded);
      });
    });
}

/** The backfill execution input the flags describe: exactly what one would paste in the console. */
function backfillInputOf(options: BackfillOptions): { [key: string]: string | boolean | string[] } {
  if (options.startStage !== undefined && options.stage !== undefined) {
    throw InvalidInputError.of(
      '--stage',
      options.stage,
      'nothing with --start-stage: one or the other (--start-stage X is --stage X)',
    );
  }
  for (const [flag, value] of [
    ['--start-stage', options.startStage],
    ['--stage', options.stage],
  ] as const) {
    if (options.auto && value !== undefined)
      throw InvalidInputError.of(flag, value, `no ${flag} with --auto (auto finds each date's stages)`);
  }
  if (!options.auto && options.startStage === undefined && options.stage === undefined) {
    throw InvalidInputError.of('--auto', undefined, '--auto, or --from, --to and --start-stage (or --stage)');
  }
  return definedOnly<string | boolean | string[]>({
    mode: options.auto ? 'auto' : 'explicit',
    from: options.from,
    to: options.to,
    startStage: options.startStage,
    stages: options.stage?.split(',').map((name) => name.trim()),
    dryRun: options.dryRun ? true : undefined,
  });
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
  return `${counted(count(totals.dates, dates), 'date')}, ${counted(count(totals.stageRuns, stageRuns), 'stage-run')}`;
}
