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
} from '../../lambdas/engine/plan';
import { bump, chain, SimulatedLedger } from './simulate';

/** The meters fixture's shape (test/fixtures/pipelines/meters): A → B → C → D (reads C over 6 earlier days) → E. */
const METERS = chain([
  ['collect', 1, 0],
  ['validate', 1, 0],
  ['summarize', 1, 0],
  ['trend', 1, 6],
  ['report', 1, 0],
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
    expect(dependencyReach(METERS)).toBe(6);
    expect(dependencyReadRange(METERS, DAY)).toEqual({ from: addDays(DAY, -12), to: addDays(DAY, -1) });
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
    const ledger = history(METERS, '2026-02-01', '2026-02-10');
    const index = boundedIndex(METERS, ledger, DAY);
    expect(dependencyConflicts(index, DAY)).toEqual([]);
    expect(dependencyWindow(index, DAY)).toEqual({ from: '2026-02-05', to: '2026-02-10' });
  });

  it("refuses on the earlier dates of trend's window once validate changed, saying why", () => {
    // Prepare
    const ledger = history(METERS, '2026-02-01', '2026-02-10');
    const v2 = bump(METERS, 'validate');

    // Act
    const conflicts = dependencyConflicts(boundedIndex(v2, ledger, DAY), DAY);

    // Assess
    expect(conflicts.map((c) => c.date)).toEqual(dateRange('2026-02-05', '2026-02-10'));
    expect(conflicts[0]).toEqual({
      date: '2026-02-05',
      startStage: 'validate',
      stages: ['validate', 'summarize', 'trend', 'report'],
      reasons: [
        { kind: 'code-stale', stage: 'validate', changes: [{ stage: 'validate', recorded: 1, code: 2 }] },
      ],
      readBy: ['trend'],
    });
    expect(formatDependencyConflicts(conflicts, METERS)).toEqual([
      '2026-02-05 .. 2026-02-10 (6 dates): rerun from validate, read by trend; ' +
        'why: code changed: validate v1 → v2',
    ]);
  });

  it('lets a change to a stage no later stage reads over a window pass (report)', () => {
    const ledger = history(METERS, '2026-02-01', '2026-02-10');
    expect(dependencyConflicts(boundedIndex(bump(METERS, 'report'), ledger, DAY), DAY)).toEqual([]);
    expect(dependencyConflicts(boundedIndex(bump(METERS, 'trend'), ledger, DAY), DAY)).toEqual([]);
  });

  it("refuses on a missing earlier date inside trend's window, and only on it", () => {
    const ledger = history(METERS, '2026-02-01', '2026-02-10', ['2026-02-07']);
    const conflicts = dependencyConflicts(boundedIndex(METERS, ledger, DAY), DAY);
    // The dates after it rerun trend only, which this run does not read.
    expect(conflicts.map((c) => [c.date, c.startStage, c.readBy])).toEqual([
      ['2026-02-07', 'collect', ['trend']],
    ]);
    expect(formatDependencyConflicts(conflicts, METERS)).toEqual([
      '2026-02-07 (1 date): rerun from collect, read by trend; ' + 'why: collect has not run',
    ]);
  });

  it('refuses on a missing day before the ledger ends up to the day before', () => {
    const ledger = history(METERS, '2026-02-01', '2026-02-09');
    expect(summary(boundedIndex(METERS, ledger, DAY), DAY)).toEqual(['2026-02-10 collect trend']);
  });

  it('lets a missing date outside every window pass', () => {
    const ledger = history(METERS, '2026-02-01', '2026-02-10', ['2026-02-03']);
    expect(dependencyConflicts(boundedIndex(METERS, ledger, DAY), DAY)).toEqual([]);
  });

  it('runs the first date ever, and a date before the history start, with nothing to check', () => {
    const empty = indexLedger(METERS, []);
    expect(dependencyConflicts(empty, DAY)).toEqual([]);
    expect(dependencyWindow(empty, DAY)).toBeNull();
    const later = history(METERS, '2026-02-20', '2026-02-25');
    expect(dependencyConflicts(boundedIndex(METERS, later, DAY), DAY)).toEqual([]);
    expect(dependencyWindow(boundedIndex(METERS, later, DAY), DAY)).toBeNull();
  });

  it('clips the window to the history start, as the planner does', () => {
    const ledger = history(METERS, '2026-02-09', '2026-02-10');
    const index = boundedIndex(METERS, ledger, DAY);
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
