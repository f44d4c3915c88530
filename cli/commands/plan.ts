/** `plan`: what a backfill would rerun, before anything runs. */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { checkTargetOptions, definedOnly, FLAG_NAMES } from '../command-context';

export function registerPlan(program: Command, ctx: CommandContext): void {
  program
    .command('plan')
    .description('show what a backfill would rerun: per date its stages and why, and the totals')
    .option('--from <date>', 'first date to consider')
    .option('--to <date>', 'last date to consider')
    .option('--json', 'print the plan as JSON')
    .action(async (options: { from?: string; to?: string; json?: boolean }) => {
      checkTargetOptions(ctx.globals());
      const { formatPlan, parseBackfillInput, planToJson } = await import('../../lambdas/engine/plan');
      const { computePlan } = await import('../../lambdas/workflow/steps');
      const loaded = ctx.load();
      const { sayWhatStaysStale } = await import('../stale-notice');
      const { pipeline } = loaded;
      const input = parseBackfillInput(
        { mode: 'auto', ...definedOnly({ from: options.from, to: options.to }) },
        pipeline,
        ctx.today(),
        ctx.maxDays(loaded),
        FLAG_NAMES,
      );
      await ctx.withTarget(loaded, async (target) => {
        const { plan } = await computePlan(target.deps, input, FLAG_NAMES);
        if (options.json) {
          ctx.io.out(JSON.stringify(planToJson(plan), null, 2));
          return;
        }
        ctx.io.out(formatPlan(plan, pipeline));
        await sayWhatStaysStale(ctx, target, loaded, plan, options);
      });
    });
}
