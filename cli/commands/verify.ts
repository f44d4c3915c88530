/** `verify`: recompute fresh cells in rolled-back transactions and compare with what is stored. */
import type { Command } from 'commander';
import { DataDirectoryInUseError, HindsightError } from '../../lambdas/engine/errors';
import { VERIFY_DEFAULT_DAYS } from '../../lambdas/engine/verify/cells';
import { readProjectConfig } from '../../lib/config';
import type { CommandContext } from '../command-context';
import { checkTargetOptions, definedOnly, FLAG_NAMES } from '../command-context';

/** Something verified differs from what the code computes, or could not be recomputed (exit 1). */
export class VerifyDifferencesError extends HindsightError {}

interface VerifyOptions {
  from?: string;
  to?: string;
  stage?: string[];
  sample?: string;
  seed?: string;
  json?: boolean;
}

export function registerVerify(program: Command, ctx: CommandContext): void {
  program
    .command('verify')
    .description(
      'recompute fresh (date, stage) cells in transactions that are rolled back, and compare with what is stored',
    )
    .option('--from <date>', `first date (default: the last ${VERIFY_DEFAULT_DAYS} dates of the ledger)`)
    .option('--to <date>', 'last date (default: the latest date of the ledger)')
    .option(
      '--stage <names>',
      'only these stages, comma-separated (repeatable; default: every stage)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--sample <n>', 'verify N dates drawn at random from the range; the seed is printed')
    .option('--seed <seed>', 'with --sample: draw with this seed, to verify the same dates again')
    .option('--json', 'print the report as JSON')
    .action(async (options: VerifyOptions) => {
      const globals = checkTargetOptions(ctx.globals());
      const { formatVerifyReport, foundDifferences, parseVerifyInput } = await import(
        '../../lambdas/engine/verify'
      );
      const { chooseVerification, verifySelection } = await import('../../lambdas/workflow/verify');
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const today = ctx.today();
      const maxDays = ctx.maxDays(loaded);
      const raw = definedOnly<unknown>({
        from: options.from,
        to: options.to,
        stages: options.stage?.flatMap((list) => list.split(',').map((name) => name.trim())),
        sample: options.sample === undefined ? undefined : wholeNumberOrText(options.sample),
        seed: options.seed,
      });
      // Checked before the target is opened: a bad input touches nothing.
      parseVerifyInput(raw, pipeline, today, maxDays, FLAG_NAMES);

      try {
        await ctx.withTarget(loaded, async (target) => {
          const selection = await chooseVerification(target.deps.sql, pipeline, raw, { today, maxDays });
          // Against a stack, the stages get the parameters it was deployed with: cdk.json's.
          const params = globals.aws ? readProjectConfig(loaded.project).params : target.deps.params;
          const report = await verifySelection(
            { pipeline, params, rolledBack: target.rolledBack },
            selection,
          );
          ctx.io.out(options.json ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
          if (foundDifferences(report.totals)) {
            const { differs, failed } = report.totals;
            throw new VerifyDifferencesError(
              `Verify found ${differs} cell${differs === 1 ? '' : 's'} differing from what the code computes now` +
                (failed > 0 ? ` and ${failed} it could not recompute` : '') +
                ' (a stage changed without a version bump, a parameter changed, or rows were changed by hand). ' +
                "To rebuild them: bump the stage's version, or backfill those dates from that stage " +
                '(backfill --from D --to D --start-stage S).',
            );
          }
        });
      } catch (error) {
        if (!(error instanceof DataDirectoryInUseError)) throw error;
        throw new DataDirectoryInUseError(
          `${error.message} Verify did not run: on the local data directory it recomputes stages in the ` +
            'embedded database, which one process opens at a time, so it waits for no command and runs beside ' +
            'none. (Against a deployed stack, with --aws, it runs beside a backfill.)',
          { cause: error },
        );
      }
    });
}

/** `30` → 30, so the schema checks the number; anything else as typed, so the error shows it. */
function wholeNumberOrText(value: string): number | string {
  return /^\d{1,9}$/.test(value) ? Number(value) : value;
}
