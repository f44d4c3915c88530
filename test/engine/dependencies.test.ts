import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import type { Pipeline } from '../../lambdas/engine/pipeline';
import {
  dependencyConflicts,
  dependencyReach,
  dependencyReadRange,
  dependencyWindow,
  formatDependencyConflicts,
  indexLedger,
  type LedgerIndex,
} from '../../lambdas/engine/planner';
import { bump, chain, SimulatedLedger } from './simulate';

/** The example pipeline's shape: A → B → C → D (reads C over 6 earlier days) → E. */
const ORDERS = chain([
  ['ingest', 1, 0],
  ['transform', 1, 0],
  ['aggregate', 1, 0],
  ['rolling', 1, 6],
  ['publish', 1, 0],
]);

const DAY = '2026-02-11';

/** Daily runs of the whole chain for every date of the range, in order, except `skip`. */
function history(pipeline: Pipeline, from: IsoDate, to: IsoDate, skip: readonly IsoDate[] = []) {
  const ledger = new SimulatedLedger();
  for (const date of dateRange(from, to))
    if (!skip.includes(date)) ledger.runFrom(pipeline, date, pipeline.names[0]);
  return ledger;
}

/** The index as the daily check builds it: only the rows of the read range, and the first date's. */
function boundedIndex(pipeline: Pipeline, ledger: SimulatedLedger, date: IsoDate): LedgerIndex {
  const range = dependencyReadRange(pipeline, date);
  const entries = ledger.entries();
  const first = entries.map((entry) => entry.date).sort()[0];
  return indexLedger(
    pipeline,
    entries.filter(
      (entry) =>
        entry.date === first || (range !== null && entry.date >= range.from && entry.date <= range.to),
    ),
  );
}

const summary = (index: LedgerIndex, date: IsoDate) =>
  dependencyConflicts(index, date).map((c) => `${c.date} ${c.startStage} ${c.readBy.join(',')}`);

describe('Function: dependencyReadRange', () => {
  it('covers the summed lookbacks before the date and the windows of those dates, ending the day before', () => {
    expect(dependencyReach(ORDERS)).toBe(6);
    expect(dependencyReadRange(ORDERS, DAY)).toEqual({ from: addDays(DAY, -12), to: addDays(DAY, -1) });
  });

  it('is null when no stage has a lookback: a daily run then reads no earlier date', () => {
    const flat = chain([
      ['a', 1, 0],
      ['b', 1, 0],
    ]);
    expect(dependencyReadRange(flat, DAY)).toBeNull();
    expect(
      dependencyWindow(indexLedger(flat, history(flat, '2026-02-01', '2026-02-10').entries()), DAY),
    ).toBe(null);
  });
});

describe('Function: dependencyConflicts', () => {
  it('finds nothing when every earlier date is fresh, and names the window it checked', () => {
    const ledger = history(ORDERS, '2026-02-01', '2026-02-10');
    const index = boundedIndex(ORDERS, ledger, DAY);
    expect(dependencyConflicts(index, DAY)).toEqual([]);
    expect(dependencyWindow(index, DAY)).toEqual({ from: '2026-02-05', to: '2026-02-10' });
  });

  it("refuses on the earlier dates of rolling's window once transform changed, saying why", () => {
    // Prepare
    const ledger = history(ORDERS, '2026-02-01', '2026-02-10');
    const v2 = bump(ORDERS, 'transform');

    // Act
    const conflicts = dependencyConflicts(boundedIndex(v2, ledger, DAY), DAY);

    // Assess
    expect(conflicts.map((c) => c.date)).toEqual(dateRange('2026-02-05', '2026-02-10'));
    expect(conflicts[0]).toEqual({
      date: '2026-02-05',
      startStage: 'transform',
      reasons: [
        { kind: 'code-stale', stage: 'transform', changes: [{ stage: 'transform', recorded: 1, code: 2 }] },
      ],
      readBy: ['rolling'],
    });
    expect(formatDependencyConflicts(conflicts)).toEqual([
      '2026-02-05 .. 2026-02-10 (6 dates): rerun from transform, read by rolling; why: code changed: transform v1 → v2',
    ]);
  });

  it('lets a change to a stage no later stage reads over a window pass (publish)', () => {
    const ledger = history(ORDERS, '2026-02-01', '2026-02-10');
    expect(dependencyConflicts(boundedIndex(bump(ORDERS, 'publish'), ledger, DAY), DAY)).toEqual([]);
    expect(dependencyConflicts(boundedIndex(bump(ORDERS, 'rolling'), ledger, DAY), DAY)).toEqual([]);
  });

  it("refuses on a missing earlier date inside rolling's window, and only on it", () => {
    const ledger = history(ORDERS, '2026-02-01', '2026-02-10', ['2026-02-07']);
    const conflicts = dependencyConflicts(boundedIndex(ORDERS, ledger, DAY), DAY);
    // The dates after it rerun rolling only, which this run does not read.
    expect(conflicts.map((c) => [c.date, c.startStage, c.readBy])).toEqual([
      ['2026-02-07', 'ingest', ['rolling']],
    ]);
    expect(formatDependencyConflicts(conflicts)).toEqual([
      '2026-02-07 (1 date): rerun from ingest, read by rolling; why: ingest has not run',
    ]);
  });

  it('refuses on a missing day before the ledger ends up to the day before', () => {
    const ledger = history(ORDERS, '2026-02-01', '2026-02-09');
    expect(summary(boundedIndex(ORDERS, ledger, DAY), DAY)).toEqual(['2026-02-10 ingest rolling']);
  });

  it('lets a missing date outside every window pass', () => {
    const ledger = history(ORDERS, '2026-02-01', '2026-02-10', ['2026-02-03']);
    expect(dependencyConflicts(boundedIndex(ORDERS, ledger, DAY), DAY)).toEqual([]);
  });

  it('runs the first date ever, and a date before the history start, with nothing to check', () => {
    const empty = indexLedger(ORDERS, []);
    expect(dependencyConflicts(empty, DAY)).toEqual([]);
    expect(dependencyWindow(empty, DAY)).toBeNull();
    const later = history(ORDERS, '2026-02-20', '2026-02-25');
    expect(dependencyConflicts(boundedIndex(ORDERS, later, DAY), DAY)).toEqual([]);
    expect(dependencyWindow(boundedIndex(ORDERS, later, DAY), DAY)).toBeNull();
  });

  it('clips the window to the history start, as the planner does', () => {
    const ledger = history(ORDERS, '2026-02-09', '2026-02-10');
    const index = boundedIndex(ORDERS, ledger, DAY);
    expect(dependencyWindow(index, DAY)).toEqual({ from: '2026-02-09', to: '2026-02-10' });
    expect(dependencyConflicts(index, DAY)).toEqual([]);
  });

  it('follows staleness through two windows: a rerun five days back reaches the last stage by way of the middle one', () => {
    // Prepare: a → b (reads a over 2 earlier days) → c (reads b over 3 earlier days); a is rerun
    // by hand on d-5, so b is input-stale on d-5 .. d-3, and c on d reads b on d-3.
    const pipeline = chain([
      ['a', 1, 0],
      ['b', 1, 2],
      ['c', 1, 3],
    ]);
    const ledger = history(pipeline, '2026-02-01', '2026-02-10');
    ledger.runStage(pipeline, addDays(DAY, -5), 'a');

    // Act
    const index = boundedIndex(pipeline, ledger, DAY);

    // Assess
    expect(dependencyReadRange(pipeline, DAY)).toEqual({ from: addDays(DAY, -8), to: addDays(DAY, -1) });
    expect(summary(index, DAY)).toEqual([`${addDays(DAY, -3)} b c`]);
    expect(dependencyConflicts(index, DAY)[0]?.reasons).toEqual([
      expect.objectContaining({
        kind: 'input-stale',
        stage: 'b',
        inputDate: addDays(DAY, -5),
        change: 'rerun',
      }),
    ]);
    // The same answer from the whole ledger.
    expect(summary(indexLedger(pipeline, ledger.entries()), DAY)).toEqual(summary(index, DAY));
  });
});
