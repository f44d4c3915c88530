/**
 * Which (date, stage) cells a verify covers: the range (the last 30 dates of the ledger by default),
 * the chosen stages, a seeded sample of dates. Only fresh cells are recomputed; a stale or missing
 * one (by the same rules as `status` and the plan) and a stage that is not verifiable are reported
 * as such. Pure: the ledger comes in as an index.
 */
import { addDays, dateRange, type IsoDate } from '../dates';
import type { Pipeline } from '../pipeline';
import { assessRange, historyStartOf, type LedgerIndex } from '../plan/staleness';
import type { NotVerifiedCell } from './report';
import { sampleDates } from './sample';
import type { VerifyRequest } from './verify-input';

/** Dates a verify covers when no range is given: the last 30 of the ledger. */
export const VERIFY_DEFAULT_DAYS = 30;

/** A fresh cell, to be recomputed and compared. */
export interface CellToVerify {
  readonly stage: string;
  readonly outcome: 'pending';
}

/** One date of a selection: its chosen stages, in pipeline order. */
export interface SelectedDate {
  readonly date: IsoDate;
  readonly cells: readonly (CellToVerify | NotVerifiedCell)[];
}

/** A seeded draw of dates from the range. */
export interface VerifySample {
  /** Dates drawn. */
  readonly size: number;
  /** Dates in the range drawn from. */
  readonly of: number;
  readonly seed: string;
}

/** What a verify covers, before anything is recomputed. */
export interface VerifySelection {
  /** The range; null when the ledger is empty and none was given. */
  readonly from: IsoDate | null;
  readonly to: IsoDate | null;
  /** The stages verified, in pipeline order. */
  readonly stages: readonly string[];
  readonly sample: VerifySample | null;
  /**
   * Input dates before this one are not checked (as in `status`): the recheck of a cell's
   * freshness inside its transaction uses the same start. Null when there is nothing to verify.
   */
  readonly historyStart: IsoDate | null;
  /** The dates covered (the drawn ones for a sample), ascending. */
  readonly dates: readonly SelectedDate[];
}

/**
 * The cells a verify covers. `seed` draws the sample when the request asks for one without its own
 * seed (the caller makes one up and prints it).
 */
export function chooseCells(index: LedgerIndex, request: VerifyRequest, seed?: string): VerifySelection {
  const { pipeline } = index;
  const stages = request.stages ?? pipeline.names;
  const to = request.to ?? index.latest;
  const from =
    request.from ??
    (to === null ? null : latest(index.earliest ?? to, addDays(to, -(VERIFY_DEFAULT_DAYS - 1))));
  const none = { from, to, stages, historyStart: null, dates: [] };
  if (from === null || to === null || to < from) return { ...none, sample: null };

  const range = dateRange(from, to);
  let sample: VerifySample | null = null;
  let chosen: ReadonlySet<IsoDate> = new Set(range);
  if (request.sample !== undefined) {
    const drawnWith = request.seed ?? seed;
    if (drawnWith === undefined)
      throw new Error('A sample needs a seed: pass one, or let the caller draw one.');
    const drawn = sampleDates(range, request.sample, drawnWith);
    sample = { size: drawn.length, of: range.length, seed: drawnWith };
    chosen = new Set(drawn);
  }

  // The whole range is assessed, so a sampled date is stale exactly when `status` shows it stale.
  const dates = assessRange(index, from, to)
    .filter((row) => chosen.has(row.date))
    .map(
      (row): SelectedDate => ({
        date: row.date,
        cells: row.cells
          .filter((cell) => stages.includes(cell.stage))
          .map((cell) => chooseCell(pipeline, cell)),
      }),
    );
  return { from, to, stages, sample, historyStart: historyStartOf(index, from), dates };
}

function chooseCell(
  pipeline: Pipeline,
  cell: ReturnType<typeof assessRange>[number]['cells'][number],
): CellToVerify | NotVerifiedCell {
  const stage = pipeline.stage(cell.stage);
  if (stage.verifiable === false) {
    return { stage: cell.stage, outcome: 'skipped', reason: stage.unverifiableReason ?? 'not verifiable' };
  }
  if (cell.state === 'missing') return { stage: cell.stage, outcome: 'missing' };
  if (cell.state === 'stale') return { stage: cell.stage, outcome: 'stale', reasons: cell.reasons };
  return { stage: cell.stage, outcome: 'pending' };
}

function latest(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}
