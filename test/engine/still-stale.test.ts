import { addDays, dateRange } from '../../lambdas/engine/dates';
import {
  indexLedger,
  ledgerAfterPlan,
  planBackfill,
  type StillStale,
  stillStale,
} from '../../lambdas/engine/plan';
import { bump, chain, SimulatedLedger } from './simulate';

const TODAY = '2026-02-01';
/** collect → validate → summarize → trend (reads 7 days of summarize) → report. */
const METERS = chain([
  ['collect', 1, 0],
  ['validate', 1, 0],
  ['summarize', 1, 0],
  ['trend', 1, 6],
  ['report', 1, 0],
]);

/** The outcome without the new run ids (a prediction cannot know them). */
function withoutNewRunIds(stale: StillStale): StillStale {
  return {
    ...stale,
    dates: stale.dates.map((date) => ({
      ...date,
      reasons: date.reasons.map((reason) =>
        reason.kind === 'input-stale' ? { ...reason, currentRunId: 'new' } : reason,
      ),
    })),
  };
}

function history(): SimulatedLedger {
  const ledger = new SimulatedLedger();
  for (const date of dateRange('2026-01-01', '2026-01-20')) ledger.runFrom(METERS, date, 'collect');
  return ledger;
}

describe('stillStale: the dates an auto backfill would rerun, said after every run', () => {
  it('finds nothing on a history run in order', () => {
    expect(stillStale(indexLedger(METERS, history().entries()), { today: TODAY }).dates).toEqual([]);
  });

  it('after a done date is run again, names the later dates whose trend window reads it', () => {
    // Prepare: the daily run for 2026-01-10 again, every stage.
    const ledger = history();
    ledger.runFrom(METERS, '2026-01-10', 'collect');

    // Act
    const stale = stillStale(indexLedger(METERS, ledger.entries()), { today: TODAY });

    // Assess: trend reads summarize over 7 days: 01-11 .. 01-16 read the old run.
    expect(stale.dates.map((d) => d.date)).toEqual(dateRange('2026-01-11', '2026-01-16'));
    expect(stale.dates.every((d) => d.stages.join() === 'trend,report')).toBe(true);
    expect(stale.dates[0].reasons).toContainEqual(
      expect.objectContaining({ kind: 'input-stale', stage: 'trend', input: 'summarize', change: 'rerun' }),
    );
    expect({ from: stale.from, to: stale.to }).toEqual({ from: '2026-01-11', to: '2026-01-16' });
  });

  it('counts due dates that never ran, up to yesterday only', () => {
    const index = indexLedger(METERS, history().entries());
    const due = { from: '2026-01-01', to: '2026-01-25' };
    const stale = stillStale(index, { today: '2026-01-23', due });
    expect(stale.dates.map((d) => d.date)).toEqual(['2026-01-21', '2026-01-22']);
    expect(stale.dates[0].reasons).toEqual([{ kind: 'missing', stage: 'collect' }]);
  });
});

describe('ledgerAfterPlan: what stays stale once a plan has run, predicted before it runs', () => {
  const v2 = bump(METERS, 'validate');
  const request = { pipeline: v2, today: TODAY, maxDays: 366 } as const;

  it('predicts nothing left after an auto backfill of everything', () => {
    const index = indexLedger(v2, history().entries());
    const plan = planBackfill({ ...request, ledger: history().entries(), mode: 'auto' });
    expect(stillStale(ledgerAfterPlan(index, plan), { today: TODAY }).dates).toEqual([]);
  });

  it('predicts the dates before --from, and the dates of the range that read them, as the backfill leaves them', () => {
    // Prepare: validate v2, backfilled from 2026-01-15 only.
    const ledger = history();
    const plan = planBackfill({
      ...request,
      ledger: ledger.entries(),
      mode: 'auto',
      from: '2026-01-15',
      to: '2026-01-20',
    });

    // Act
    const predicted = stillStale(ledgerAfterPlan(indexLedger(v2, ledger.entries()), plan), {
      today: TODAY,
      range: plan,
    });
    ledger.apply(v2, plan);
    const actual = stillStale(indexLedger(v2, ledger.entries()), { today: TODAY, range: plan });

    // Assess: the prediction is what the ledger says once the plan has run.
    expect(withoutNewRunIds(predicted)).toEqual(withoutNewRunIds(actual));
    expect(predicted.beforeRange).toBe(14);
    expect(predicted.afterRange).toBe(0);
    expect(predicted.dates[0]).toMatchObject({
      date: '2026-01-01',
      stages: ['validate', 'summarize', 'trend', 'report'],
    });
    // 01-15 .. 01-20 reran on top of stale inputs: the backfill of 01-01 .. 01-14 reruns their trend again.
    expect(predicted.dates.map((d) => d.date)).toEqual(dateRange('2026-01-01', '2026-01-20'));
  });

  it('predicts the later dates an explicit rerun leaves stale, as the ledger shows after it', () => {
    const ledger = history();
    const plan = planBackfill({
      ...request,
      pipeline: METERS,
      ledger: ledger.entries(),
      mode: 'explicit',
      from: '2026-01-05',
      to: '2026-01-06',
      startStage: 'summarize',
    });
    const predicted = stillStale(ledgerAfterPlan(indexLedger(METERS, ledger.entries()), plan), {
      today: TODAY,
      range: plan,
    });
    ledger.apply(METERS, plan);
    const actual = stillStale(indexLedger(METERS, ledger.entries()), { today: TODAY, range: plan });
    expect(withoutNewRunIds(predicted)).toEqual(withoutNewRunIds(actual));
    expect(predicted.dates.map((d) => d.date)).toEqual(dateRange('2026-01-07', addDays('2026-01-06', 6)));
    expect(predicted.afterRange).toBe(6);
  });
});
