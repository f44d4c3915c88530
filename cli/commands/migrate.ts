/** `migrate`: bring the local database up to date (every command does it first). */
import type { Command } from 'commander';
import type { CommandContext } from '../command-context';

export function registerMigrate(program: Command, ctx: CommandContext): void {
  program
    .command('migrate')
    .description('apply pending schema migrations (every command also does this first)')
    .action(async () => {
      ctx.localOnly('migrate', 'in AWS the after-deploy trigger applies migrations on every cdk deploy');
      const loaded = ctx.load();
      await ctx.withSession(loaded, async (session) => {
        const { applied, alreadyApplied } = session.services.migrations;
        ctx.io.out(
          applied.length === 0
            ? `Schema is up to date (${alreadyApplied} migrations applied before).`
            : `Applied ${applied.join(', ')} (${alreadyApplied} were applied before).`,
        );
      });
    });
}
