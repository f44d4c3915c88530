/**
 * The status report from what `status` reads (the ledger rows, due dates, lease and last runs),
 * recomputed with the pipeline code of the moment: the same report whether the rows come from the
 * database or from the snapshot a data directory's holder published (local/status-snapshot.ts).
 */
import { addDays, type IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import { assessRange, indexLedger } from '../lambdas/engine/plan';
import type { SqlExecutor } from '../lambdas/engine/sql';
import { readDueRange } from '../lambdas/ledger/due-dates';
import { readHistory, readLedger, toEntry } from '../lambdas/ledger/ledger-store';
import { LAST_RUNS, type StatusData } from '../local/status-snapshot';
import { CATCH_UP_DAYS } from './command-context';
import type { StatusReport } from './status-view';

/** Reads what `status` shows from the database. */
export async function readStatusData(
  sql: SqlExecutor,
  readLease: () => Promise<StatusData['lease'] | undefined>,
): Promise<StatusData> {
  return {
    ledger: await readLedger(sql),
    due: await readDueRange(sql),
    lease: (await readLease()) ?? null,
    lastRuns: await readHistory(sql, LAST_RUNS),
  };
}

/** The grid of `range` (by default the last 30 dates up to the latest), the lease and the last runs. */
export function buildStatusReport(
  data: StatusData,
  pipeline: Pipeline,
  range: { from?: IsoDate; to?: IsoDate },
): StatusReport {
  const index = indexLedger(pipeline, data.ledger.map(toEntry));
  // Dates the daily workflow was started for but that never ran show as missing too.
  const { due } = data;
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
  return {
    stages: pipeline.names,
    versions,
    from,
    to,
    dates,
    counts,
    lease: data.lease,
    lastRuns: data.lastRuns,
  };
}

function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}
