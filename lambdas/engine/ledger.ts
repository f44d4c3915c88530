import type { IsoDate } from './dates';
import type { Lineage } from './pipeline';

/**
 * What the ledger records for one (date, stage): enough to decide, without the data, whether
 * the output is still what the code would produce. Written in the same transaction as the data.
 */
export interface LedgerEntry {
  readonly date: IsoDate;
  readonly stage: string;
  /** The stage's version when it ran. */
  readonly version: number;
  /** The versions of every upstream stage that produced its inputs, as recorded when they ran. */
  readonly lineage: Lineage;
  /** Run id of each input (the previous stage) over the input window, by date; absent dates had no run. */
  readonly inputRunIds: Readonly<Record<IsoDate, string>>;
  /** This run's id; a rerun gets a new one, which makes its consumers input-stale. */
  readonly runId: string;
}

/** A ledger entry with the bookkeeping shown by `status` and kept in the history. */
export interface LedgerRow extends LedgerEntry {
  readonly executionId: string | null;
  readonly fenceToken: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly rowsWritten: number;
}
