/**
 * "Check Earlier Dates" over a stage graph: a daily run is refused when an earlier date that one of
 * its stages reads through an input's window is planned to be rewritten, and only then; the reach
 * is the longest path of lookbacks, not their sum over unrelated branches.
 */
import { addDays, dateRange, type IsoDate } from '../../lambdas/engine/dates';
import { definePipeline, type Pipeline } from '../../lambdas/engine/pipeline';
import {
  dependencyConflicts,
  dependencyReach,
  dependencyReadRange,
  formatDependencyConflicts,
  indexLedger,
} from '../../lambdas/engine/plan';
import { defineStage, type StageInput } from '../../lambdas/engine/stage';
import { SimulatedLedger } from './simulate';

function stage(name: string, inputs: readonly StageInput[], version = 1) {
  return defineStage({ name, version, inputs, owns: [], description: name, run: async () => 0 });
}

/** The shop's shape: two sources; sessions; a 28-day window over sessions; revenue; a join. */
function shop(versions: Readonly<Record<string, number>> = {}): Pipeline {
  const v = (name: string) => versions[name] ?? 1;
  return definePipeline([
    stage('web_events', [], v('web_events')),
    stage('orders', [], v('orders')),
    stage('sessions', ['web_events'], v('sessions')),
    stage('daily_active_users', [{ stage: 'sessions', lookbackDays: 27 }], v('daily_active_users')),
    stage('revenue_by_country', ['orders'], v('revenue_by_country')),
    stage('conversion', ['sessions', { stage: 'orders', lookbackDays: 2 }], v('conversion')),
  ]);
}

const DAY = '2026-03-01';

function history(pipeline: Pipeline, from: IsoDate, to: IsoDate): SimulatedLedger {
  const ledger = new SimulatedLedger();
  for (const date of dateRange(from, to)) ledger.runStages(pipeline, date, pipeline.names);
  return ledger;
}

describe('Function: dependencyConflicts on a stage graph', () => {
  const ledger = history(shop(), '2026-01-01', addDays(DAY, -1));

  it('reaches as far back as the longest window path, not the lookbacks of every branch summed', () => {
    expect(dependencyReach(shop())).toBe(27);
    expect(dependencyReadRange(shop(), DAY)).toEqual({ from: addDays(DAY, -54), to: addDays(DAY, -1) });
  });

  it('refuses a daily run whose 28-day window reads sessions the plan reruns first', () => {
    // Prepare
    const code = shop({ sessions: 2 });

    // Act
    const conflicts = dependencyConflicts(indexLedger(code, ledger.entries()), DAY);

    // Assess
    expect(conflicts.map((conflict) => conflict.date)).toEqual(
      dateRange(addDays(DAY, -27), addDays(DAY, -1)),
    );
    expect(conflicts[0]).toMatchObject({
      stages: ['sessions', 'daily_active_users', 'conversion'],
      readBy: ['daily_active_users'],
    });
    expect(formatDependencyConflicts(conflicts, code)[0]).toBe(
      `${addDays(DAY, -27)} .. ${addDays(DAY, -1)} (27 dates): rerun sessions, daily_active_users and conversion, ` +
        'read by daily_active_users; why: code changed: sessions v1 → v2',
    );
  });

  it('refuses only over the join’s own two-day window of orders, read by conversion alone', () => {
    const conflicts = dependencyConflicts(indexLedger(shop({ orders: 2 }), ledger.entries()), DAY);
    expect(conflicts.map((conflict) => [conflict.date, conflict.readBy])).toEqual([
      [addDays(DAY, -2), ['conversion']],
      [addDays(DAY, -1), ['conversion']],
    ]);
  });

  it('lets the run go when only a branch no window reads changed (revenue_by_country, daily_active_users)', () => {
    for (const changed of ['revenue_by_country', 'daily_active_users']) {
      expect(dependencyConflicts(indexLedger(shop({ [changed]: 2 }), ledger.entries()), DAY)).toEqual([]);
    }
  });

  it('refuses on a missing earlier date of one source only where a window reads what depends on it', () => {
    // Prepare: orders never ran on one date (so revenue_by_country and conversion did not either).
    const gap = addDays(DAY, -10);
    const partial = new SimulatedLedger();
    for (const date of dateRange('2026-01-01', addDays(DAY, -1))) {
      const stages = date === gap ? ['web_events', 'sessions', 'daily_active_users'] : shop().names;
      partial.runStages(shop(), date, stages);
    }

    // Act: conversion reads orders two days back only, so a gap ten days back is nobody's input.
    const conflicts = dependencyConflicts(indexLedger(shop(), partial.entries()), DAY);

    // Assess
    expect(conflicts).toEqual([]);
    expect(
      dependencyConflicts(indexLedger(shop(), partial.entries()), addDays(gap, 1)).map((conflict) => [
        conflict.date,
        conflict.stages,
        conflict.readBy,
      ]),
    ).toEqual([[gap, ['orders', 'revenue_by_country', 'conversion'], ['conversion']]]);
  });
});
