/** `status`: the grid of dates × stages, the lease and the last runs (text, JSON or an HTML page). */

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { addDays, type IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import { assessRange, indexLedger } from '../../lambdas/engine/plan';
import { parseInput } from '../../lambdas/engine/schemas';
import { readDueRange } from '../../lambdas/ledger/due-dates';
import { readHistory, readLedger, toEntry } from '../../lambdas/ledger/ledger-store';
import type { CommandContext } from '../command-context';
import { CATCH_UP_DAYS, checkTargetOptions, definedOnly, FLAG_NAMES, rangeSchema } from '../command-context';
import { renderStatusPage } from '../status-page';
import { formatStatus, type StatusReport } from '../status-view';
import type { Target } from '../target';

export function registerStatus(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description('a grid of dates × stages (fresh / stale / missing), the lease and the last runs')
    .option('--from <date>', 'first date shown')
    .option('--to <date>', 'last date shown')
    .option('--json', 'print the status as JSON')
    .option('--html <file>', 'write the status as a self-contained HTML page to FILE')
    .action(async (options: { from?: string; to?: string; json?: boolean; html?: string }) => {
      checkTargetOptions(ctx.globals());
      const loaded = ctx.load();
      const { pipeline } = loaded;
      const range = parseInput(
        rangeSchema,
        definedOnly({ from: options.from, to: options.to }),
        '',
        FLAG_NAMES,
      );
      if (options.html !== undefined) checkOutputFile('--html', options.html);
      await ctx.withTarget(loaded, async (target) => {
        const report = await statusReport(target, pipeline, range);
        if (options.html === undefined) {
          ctx.io.out(options.json ? JSON.stringify(report, null, 2) : formatStatus(report, ctx.io.isTty));
        } else {
          writeFileSync(options.html, renderStatusPage(report, { generatedAt: ctx.io.now() }));
          ctx.io.out(`Wrote ${options.html}`);
        }
      });
    });
}

export async function statusReport(
  target: Target,
  pipeline: Pipeline,
  range: { from?: IsoDate; to?: IsoDate },
): Promise<StatusReport> {
  const { sql } = target.deps;
  const ledger = await readLedger(sql);
  const index = indexLedger(pipeline, ledger.map(toEntry));
  // Dates the daily workflow was started for but that never ran show as missing too.
  const due = await readDueRange(sql);
  const latest =
    index.latest === null || (due !== null && due.to > index.latest) ? (due?.to ?? null) : index.latest;
  const to = range.to ?? latest;
  const from =
    range.from ?? (to === null ? null : maxDate(index.earliest ?? to, addDays(to, -(CATCH_UP_DAYS - 1))));
  const dates = (from === null || to === null ? [] : assessRange(index, from, to)).map((row) => ({
    ...row,
    cells: row.cells.map((cell, i) => ({
      ...cell,
      recordedVersion: index.byStage[i].get(row.date)?.version ?? null,
    })),
  }));
  const versions = Object.fromEntries(pipeline.stages.map((stage) => [stage.name, stage.version]));
  const counts = { fresh: 0, stale: 0, missing: 0 };
  for (const row of dates) for (const cell of row.cells) counts[cell.state]++;
  const lease = (await target.leaseStore.read()) ?? null;
  const lastRuns = await readHistory(sql, 5);
  return { stages: pipeline.names, versions, from, to, dates, counts, lease, lastRuns };
}

/** Refuses an output file whose parent directory does not exist (before anything is opened). */
function checkOutputFile(option: string, file: string): void {
  const parent = dirname(resolve(file));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw InvalidInputError.of(option, file, `a file in an existing directory (${parent} does not exist)`);
  }
}

function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}
