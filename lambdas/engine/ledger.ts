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
  /** Run id of each input over its window, by input stage then date; absent dates had no run. */
  readonly inputRunIds: InputRunIds;
  /** This run's id; a rerun gets a new one, which makes its consumers input-stale. */
  readonly runId: string;
}

/** `{ sessions: { "2026-01-30": "<run id>", "2026-01-31": "<run id>" }, orders: { … } }`. */
export type InputRunIds = Readonly<Record<string, Readonly<Record<IsoDate, string>>>>;

/**
 * Ledgers written before stage graphs recorded one flat map of date → run id: the run ids of the
 * stage listed before (the only input a stage had). Read as that stage's, so chains stay fresh.
 */
export function upgradeInputRunIds(recorded: unknown, previousStage: string | undefined): InputRunIds {
  if (typeof recorded !== 'object' || recorded === null) return {};
  const values = Object.values(recorded);
  if (values.length === 0 || values.some((value) => typeof value !== 'string'))
    return recorded as InputRunIds;
  return previousStage === undefined ? {} : { [previousStage]: recorded as Record<IsoDate, string> };
}

/** A ledger entry with the bookkeeping shown by `status` and kept in the history. */
export interface LedgerRow extends LedgerEntry {
  readonly executionId: string | null;
  readonly fenceToken: number;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly rowsWritten: number;
}
