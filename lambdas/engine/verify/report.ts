/**
 * What a verify found, per (date, stage) and in total, and how it is put in words. A cell is
 * "same" when, for every table the stage owns, the rows stored for the date and the rows the
 * stage's current code recomputes are equal as multisets.
 */
import type { IsoDate } from '../dates';
import type { StaleReason } from '../plan/staleness';
import type { SqlRow } from '../sql';
import type { VerifySample } from './cells';

/** One owned table of one cell: rows on each side, rows found on one side only, a few of those. */
export interface TableComparison {
  readonly table: string;
  /** Rows stored for the date. */
  readonly stored: number;
  /** Rows the stage's code writes for the date now. */
  readonly recomputed: number;
  /** Stored rows the recomputation does not give (counted with multiplicity). */
  readonly onlyStored: number;
  /** Recomputed rows that are not stored. */
  readonly onlyRecomputed: number;
  /** The first few of each, ordered by their text. */
  readonly examples: { readonly onlyStored: readonly SqlRow[]; readonly onlyRecomputed: readonly SqlRow[] };
}

/** A stage that is not verifiable, a stale or missing cell: reported, not recomputed. */
export type NotVerifiedCell =
  | { readonly stage: string; readonly outcome: 'skipped'; readonly reason: string }
  | { readonly stage: string; readonly outcome: 'missing' }
  | {
      readonly stage: string;
      readonly outcome: 'stale';
      readonly reasons: readonly StaleReason[];
      /** Fresh when chosen, but a run rewrote it (or its input) before its check. */
      readonly rewrittenMeanwhile?: true;
    };

/** What one (date, stage) turned out to be. */
export type CellVerdict =
  | { readonly stage: string; readonly outcome: 'same'; readonly tables: readonly TableComparison[] }
  | { readonly stage: string; readonly outcome: 'differs'; readonly tables: readonly TableComparison[] }
  /** The recomputation itself failed (the stage threw, its SQL failed): nothing is proven. */
  | { readonly stage: string; readonly outcome: 'failed'; readonly error: string }
  | NotVerifiedCell;

export type CellOutcome = CellVerdict['outcome'];

export interface DateVerification {
  readonly date: IsoDate;
  readonly cells: readonly CellVerdict[];
}

/** Cells by outcome. */
export interface VerifyTotals {
  readonly dates: number;
  readonly cells: number;
  readonly same: number;
  readonly differs: number;
  readonly failed: number;
  readonly stale: number;
  readonly missing: number;
  readonly skipped: number;
}

export interface VerifyReport {
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  readonly stages: readonly string[];
  readonly sample: VerifySample | null;
  readonly dates: readonly DateVerification[];
  readonly totals: VerifyTotals;
}

/** Adds up the outcomes of `dates`. */
export function verifyTotals(dates: readonly DateVerification[]): VerifyTotals {
  const totals = {
    dates: dates.length,
    cells: 0,
    same: 0,
    differs: 0,
    failed: 0,
    stale: 0,
    missing: 0,
    skipped: 0,
  };
  for (const { cells } of dates) {
    for (const cell of cells) {
      totals.cells++;
      totals[cell.outcome]++;
    }
  }
  return totals;
}

/** True when a cell differs or could not be recomputed: `verify` exits 1, the workflow fails. */
export function foundDifferences(totals: VerifyTotals): boolean {
  return totals.differs + totals.failed > 0;
}

/** The table comparisons of a cell that differ: those with rows on one side only. */
export function differingTables(cell: CellVerdict): readonly TableComparison[] {
  return cell.outcome === 'same' || cell.outcome === 'differs'
    ? cell.tables.filter((table) => table.onlyStored + table.onlyRecomputed > 0)
    : [];
}

export interface FormatVerifyOptions {
  /** Example rows shown per side of a differing table. @default 3 */
  readonly examples?: number;
}

/**
 * The report as text: the range, one line per date with each stage's outcome (in stage order),
 * under a differing cell its tables with counts and example rows, then the totals.
 */
export function formatVerifyReport(report: VerifyReport, options: FormatVerifyOptions = {}): string {
  if (report.from === null || report.to === null) return 'Nothing to verify: the ledger is empty.';
  const span = report.from === report.to ? report.from : `${report.from} .. ${report.to}`;
  if (report.dates.length === 0) return `Nothing to verify: no dates in ${span}.`;
  const examples = options.examples ?? 3;
  const lines = [
    `Verify ${span}, stages ${report.stages.join(', ')}: each cell recomputed in a transaction that was rolled back.`,
  ];
  if (report.sample) {
    const { size, of, seed } = report.sample;
    lines.push(
      `Sample: ${count(size, 'date')} drawn from ${of} with seed ${seed} (the same seed draws the same dates).`,
    );
  }
  const width = Math.max('differs'.length, ...report.stages.map((stage) => stage.length)) + 2;
  lines.push(['date'.padEnd(12), ...report.stages.map((stage) => stage.padEnd(width))].join('').trimEnd());
  for (const { date, cells } of report.dates) {
    const byStage = new Map(cells.map((cell) => [cell.stage, cell]));
    lines.push(
      [date.padEnd(12), ...report.stages.map((stage) => (byStage.get(stage)?.outcome ?? '').padEnd(width))]
        .join('')
        .trimEnd(),
    );
    for (const cell of cells) lines.push(...describeCell(date, cell, examples));
  }

  const skipped = new Map<string, string>();
  for (const cell of report.dates.flatMap((date) => date.cells))
    if (cell.outcome === 'skipped') skipped.set(cell.stage, cell.reason);
  for (const [stage, reason] of skipped) lines.push(`Skipped: ${stage} is not verifiable (${reason}).`);

  const t = report.totals;
  lines.push(
    `Totals: ${count(t.cells, 'cell')} in ${count(t.dates, 'date')}: ${t.same} same, ${t.differs} differ, ` +
      `${t.failed} failed; not verified: ${t.stale} stale, ${t.missing} missing, ${t.skipped} skipped.`,
  );
  if (t.stale + t.missing > 0) {
    lines.push(
      'Stale and missing cells are not compared: `hindsight plan` says why, a backfill makes them fresh.',
    );
  }
  return lines.join('\n');
}

function describeCell(date: IsoDate, cell: CellVerdict, examples: number): string[] {
  if (cell.outcome === 'failed')
    return [`    ${cell.stage} on ${date} could not be recomputed: ${cell.error}`];
  if (cell.outcome === 'stale' && cell.rewrittenMeanwhile) {
    return [
      `    ${cell.stage} on ${date} was rewritten while being verified (a run committed meanwhile): verify it again`,
    ];
  }
  const lines: string[] = [];
  for (const table of differingTables(cell)) {
    lines.push(
      `    ${cell.stage} on ${date}, table ${table.table}: ${count(table.onlyStored, 'row')} only stored, ` +
        `${count(table.onlyRecomputed, 'row')} only recomputed (${table.stored} stored, ${table.recomputed} recomputed)`,
    );
    for (const row of table.examples.onlyStored.slice(0, examples))
      lines.push(`      only stored      ${JSON.stringify(row)}`);
    for (const row of table.examples.onlyRecomputed.slice(0, examples))
      lines.push(`      only recomputed  ${JSON.stringify(row)}`);
  }
  return lines;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
