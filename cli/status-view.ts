import type { LeaseRecord } from '../lambdas/engine/lease';
import type { CellState, DateStatus } from '../lambdas/engine/plan';
import type { HistoryRow } from '../lambdas/ledger/ledger-store';
import type { RunningCommand } from './local-status';

/** One cell of the grid, with the version the ledger recorded for it (null when there is no row). */
export type StatusCell = DateStatus['cells'][number] & { readonly recordedVersion?: number | null };

/** One row of the grid. */
export interface StatusDate extends Omit<DateStatus, 'cells'> {
  readonly cells: readonly StatusCell[];
}

/**
 * Everything `hindsight status` shows, as data (`--json` prints exactly this). `versions` and the
 * cells' `recordedVersion` were added later (optional, so older JSON still reads as a report).
 */
export interface StatusReport {
  readonly stages: readonly string[];
  /** Each stage's version in the code. */
  readonly versions?: Readonly<Record<string, number>>;
  readonly from: string | null;
  readonly to: string | null;
  readonly dates: readonly StatusDate[];
  readonly counts: Readonly<Record<CellState, number>>;
  readonly lease: LeaseRecord | null;
  readonly lastRuns: readonly HistoryRow[];
  /** The command holding the local data directory, when one runs: the grid is as of its last committed date. */
  readonly running?: RunningCommand;
  /** The lease's holder is known to have ended (its process is gone): the next run or backfill takes the lease over. */
  readonly leaseHolderEnded?: boolean;
}

const SYMBOL: Record<CellState, string> = { fresh: '●', stale: '◐', missing: '○' };
const COLOUR: Record<CellState, string> = { fresh: '\u001b[32m', stale: '\u001b[33m', missing: '\u001b[31m' };
const RESET = '\u001b[0m';

/** The grid of dates × stages, coloured on a terminal and plain (letters F / S / -) when piped. */
export function formatStatus(report: StatusReport, colour: boolean): string {
  const lines: string[] = report.running ? [...describeRunning(report.running), ''] : [];
  if (report.dates.length === 0) {
    if (report.running === undefined || report.running.gridAsOf !== undefined)
      lines.push('No runs yet: the ledger is empty. Start with `npx hindsight run`.');
  } else {
    const width = Math.max(...report.stages.map((stage) => stage.length), 5);
    lines.push(
      `${'date'.padEnd(10)}  ${report.stages.map((stage) => stage.padEnd(width)).join(' ')}  reruns`,
    );
    for (const row of report.dates) {
      const cells = row.cells.map((cell) => {
        const mark = colour ? `${COLOUR[cell.state]}${SYMBOL[cell.state]}${RESET}` : plain(cell.state);
        return mark + ' '.repeat(width - 1);
      });
      lines.push(`${row.date}  ${cells.join(' ')}  ${describeReruns(report.stages, row)}`);
    }
    const legend = colour
      ? `${COLOUR.fresh}● fresh${RESET}  ${COLOUR.stale}◐ stale${RESET}  ${COLOUR.missing}○ missing${RESET}`
      : 'F fresh  S stale  - missing';
    lines.push(
      `${legend}   (${report.counts.fresh} fresh, ${report.counts.stale} stale, ${report.counts.missing} missing)`,
    );
  }
  lines.push(
    '',
    `Lease: ${describeLease(report.lease)}${
      report.leaseHolderEnded && report.lease?.holder
        ? '\n  Its process has ended (killed or crashed): the next run or backfill takes the lease over.'
        : ''
    }`,
  );
  if (report.lastRuns.length > 0) {
    lines.push('', 'Last runs:');
    const stageWidth = Math.max(10, ...report.lastRuns.map((run) => run.stage.length));
    for (const run of report.lastRuns) {
      const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
      lines.push(
        `  ${run.finishedAt.replace('T', ' ').slice(0, 19)}  ${run.date}  ${run.stage.padEnd(stageWidth)} v${run.version}  ` +
          `${String(run.rowsWritten).padStart(8)} rows  ${seconds.toFixed(2)} s  ${shortExecution(run.executionId)}`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * What a date reruns, in the grid's last column: for a suffix of the stages (always, in a chain)
 * the stage it starts from, `transform on`; else the stages, `sessions, conversion`.
 */
export function describeReruns(
  stages: readonly string[],
  row: Pick<StatusDate, 'startStage' | 'stages'>,
): string {
  if (row.startStage === null) return '';
  const suffix = stages.slice(stages.indexOf(row.startStage));
  const planned = row.stages ?? suffix;
  const isSuffix = planned.length === suffix.length && planned.every((stage, i) => stage === suffix[i]);
  return isSuffix ? `${row.startStage} on` : planned.join(', ');
}

function plain(state: CellState): string {
  return state === 'fresh' ? 'F' : state === 'stale' ? 'S' : '-';
}

/** The command running on the data directory: what, since when, how far. */
function describeRunning(running: RunningCommand): string[] {
  const started = running.startedAt.replace('T', ' ').slice(0, 19);
  const progress = [
    running.planned === undefined ? undefined : `${running.done ?? 0}/${running.planned} dates done`,
    running.date === undefined
      ? running.phase
      : `now ${running.date}${running.stage ? ` ${running.stage}` : ''}`,
  ].filter((part) => part !== undefined);
  return [
    `Running: ${running.command} (process ${running.pid}, started ${started} UTC)${progress.length > 0 ? `: ${progress.join(', ')}` : ''}.`,
    running.gridAsOf === undefined
      ? 'No grid published yet: it opens the data directory.'
      : `Grid as of ${running.gridAsOf.replace('T', ' ').slice(0, 19)} UTC, its last committed date.`,
  ];
}

function describeLease(lease: LeaseRecord | null): string {
  if (lease === null || lease.holder === null) return `free${lease ? ` (last token ${lease.token})` : ''}`;
  return (
    `held by ${shortExecution(lease.holder)} (${lease.kind}, token ${lease.token}, ` +
    `expires ${new Date(lease.expiresAt).toISOString()})`
  );
}

function shortExecution(executionId: string | null): string {
  if (executionId === null) return '';
  return executionId.split(':').slice(-2).join(':');
}
