/** `status`: the grid of dates × stages, the lease and the last runs (text, JSON or an HTML page). */

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { IsoDate } from '../../lambdas/engine/dates';
import { InvalidInputError } from '../../lambdas/engine/errors';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import type { CommandContext, TargetOptions } from '../command-context';
import { checkTargetOptions, definedOnly, FLAG_NAMES } from '../command-context';
import type { ProjectPipeline } from '../session';
import type { StatusReport } from '../status-view';
import type { Target } from '../target';

/** Seconds between two looks with `--watch`, unless `--interval` says. */
const WATCH_INTERVAL_SECONDS = 2;

interface StatusOptions {
  from?: string;
  to?: string;
  json?: boolean;
  html?: string;
  watch?: boolean;
  interval?: string;
}

export function registerStatus(program: Command, ctx: CommandContext): void {
  program
    .command('status')
    .description('a grid of dates × stages (fresh / stale / missing), the lease and the last runs')
    .option('--from <date>', 'first date shown')
    .option('--to <date>', 'last date shown')
    .option('--json', 'print the status as JSON')
    .option('--html <file>', 'write the status as a self-contained HTML page to FILE')
    .option(
      '--watch',
      'look again every few seconds until Ctrl-C: redrawn on a terminal, printed again on each change otherwise',
    )
    .option('--interval <seconds>', `with --watch: seconds between looks (default ${WATCH_INTERVAL_SECONDS})`)
    .action(async (options: StatusOptions) => {
      const globals = checkTargetOptions(ctx.globals());
      const { parseInput } = await import('../../lambdas/engine/schemas');
      const { rangeSchema } = await import('../range-schema');
      const loaded = ctx.load();
      const range = parseInput(
        rangeSchema,
        definedOnly({ from: options.from, to: options.to }),
        '',
        FLAG_NAMES,
      );
      if (options.html !== undefined) checkOutputFile('--html', options.html);
      const intervalMs = watchInterval(options);
      const { formatStatus } = await import('../status-view');
      const show = (report: StatusReport): string => {
        if (options.html !== undefined) {
          // Loaded here: the page's styles and scripts are for --html only.
          const { renderStatusPage } = require('../status-page') as typeof import('../status-page');
          writeFileSync(
            options.html,
            renderStatusPage(report, {
              generatedAt: ctx.io.now(),
              nextCommand: ctx.commandLine(['backfill', '--auto']),
            }),
          );
          return `Wrote ${options.html}`;
        }
        return options.json ? JSON.stringify(report, null, 2) : formatStatus(report, ctx.colour());
      };
      if (intervalMs === undefined) {
        ctx.io.out(show(await currentStatus(ctx, globals, loaded, range)));
        return;
      }
      await watch(ctx, intervalMs, async () => show(await currentStatus(ctx, globals, loaded, range)));
    });
}

/**
 * The status now. Locally, without opening the data directory when what its holder published
 * answers (see cli/local-status.ts); otherwise from the database (PGlite, the server of
 * `--database-url`, or the stack's with `--aws`).
 */
async function currentStatus(
  ctx: CommandContext,
  globals: TargetOptions,
  loaded: ProjectPipeline,
  range: { from?: IsoDate; to?: IsoDate },
): Promise<StatusReport> {
  const { buildStatusReport } = await import('../status-report');
  if (!globals.aws && globals.databaseUrl === undefined) {
    const { publishedLocalStatus } = await import('../local-status');
    const published = publishedLocalStatus(globals.dataDir);
    if (published.kind === 'running') {
      const data = published.data ?? { ledger: [], due: null, lease: null, lastRuns: [] };
      return { ...buildStatusReport(data, loaded.pipeline, range), running: published.running };
    }
    if (published.kind === 'busy') {
      const { DataDirectoryInUseError } = await import('../../lambdas/engine/errors');
      throw new DataDirectoryInUseError(
        `The data directory ${globals.dataDir} is in use by process ${published.pid}, which publishes no ` +
          'progress yet (it is starting, or it is an older hindsight). Try again in a moment.',
      );
    }
    if (published.kind === 'snapshot') {
      // The directory is free: nobody holds the lease any more, whatever the snapshot says.
      return withEndedHolder(buildStatusReport(published.data, loaded.pipeline, range));
    }
  }
  if (!globals.aws && globals.databaseUrl !== undefined) {
    const { readServerStatus } = await import('../server-status');
    const { publishedLocalStatus } = await import('../local-status');
    const data = await readServerStatus(
      globals.databaseUrl,
      globals.databaseUrlName,
      loaded.source.migrationsDirectory,
    );
    const published = publishedLocalStatus(globals.dataDir);
    const report = buildStatusReport(data, loaded.pipeline, range);
    return published.kind === 'running' ? { ...report, running: published.running } : report;
  }
  let report: StatusReport | undefined;
  await ctx.withTarget(loaded, async (target) => {
    report = await statusReport(target, loaded.pipeline, range);
    // This process holds the local data directory, and runs nothing: a lease held in its dynalite
    // is a killed process's.
    if (!globals.aws) report = withEndedHolder(report);
  });
  if (report === undefined) throw new Error('status: the target was not opened');
  return report;
}

function withEndedHolder(report: StatusReport): StatusReport {
  return report.lease?.holder ? { ...report, leaseHolderEnded: true } : report;
}

/** The status report from the target's database, with the pipeline code of the moment. */
export async function statusReport(
  target: Target,
  pipeline: Pipeline,
  range: { from?: IsoDate; to?: IsoDate },
): Promise<StatusReport> {
  const { buildStatusReport, readStatusData } = await import('../status-report');
  const data = await readStatusData(target.deps.sql, () => target.leaseStore.read());
  return buildStatusReport(data, pipeline, range);
}

/** `--interval` in ms with `--watch`; undefined without `--watch`. */
function watchInterval(options: StatusOptions): number | undefined {
  if (options.interval !== undefined && !options.watch)
    throw InvalidInputError.of('--interval', options.interval, '--interval only with --watch');
  if (!options.watch) return undefined;
  if (options.interval === undefined) return WATCH_INTERVAL_SECONDS * 1000;
  const seconds = Number(options.interval);
  if (!/^\d+(\.\d+)?$/.test(options.interval) || seconds < 0.2 || seconds > 3600)
    throw InvalidInputError.of('--interval', options.interval, 'a number of seconds from 0.2 to 3600');
  return seconds * 1000;
}

/**
 * Shows `look()` every `intervalMs` until Ctrl-C (or SIGTERM), then returns (exit 0). On a
 * terminal the screen is redrawn; piped, the status is printed again only when it changed, after a
 * line with the time, so a log of it reads as what happened when.
 */
async function watch(ctx: CommandContext, intervalMs: number, look: () => Promise<string>): Promise<void> {
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let last: string | undefined;
    while (!stopped) {
      const text = await look();
      const at = ctx.io.now().toISOString().replace('T', ' ').slice(0, 19);
      if (ctx.io.isTty) {
        ctx.io.out(`\u001b[H\u001b[2J${text}\n\nEvery ${intervalMs / 1000} s, ${at} UTC. Ctrl-C to stop.`);
      } else if (text !== last) {
        ctx.io.out(`${last === undefined ? '' : '\n'}== ${at} UTC ==\n${text}`);
      }
      last = text;
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

/** Refuses an output file whose parent directory does not exist (before anything is opened). */
function checkOutputFile(option: string, file: string): void {
  const parent = dirname(resolve(file));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw InvalidInputError.of(option, file, `a file in an existing directory (${parent} does not exist)`);
  }
}
