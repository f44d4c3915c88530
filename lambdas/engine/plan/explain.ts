import { addDays, type IsoDate } from '../dates';
import type { Pipeline } from '../pipeline';
import type { DependencyConflict } from './earlier-dates';
import type { BackfillPlan, PlannedDate } from './plan-backfill';
import type { PlanReason } from './staleness';

/**
 * A human summary: one line per run of consecutive dates sharing the stages they rerun, why,
 * then the totals against a full rerun of the range.
 */
export function formatPlan(
  plan: BackfillPlan,
  pipeline: Pipeline,
  options: {
    /** Show at most this many runs of dates, then say how many more there are. @default all */
    readonly maxRuns?: number;
  } = {},
): string {
  if (plan.from === null || plan.to === null)
    return 'Nothing to do: the ledger is empty and no range was given.';
  if (plan.dates.length === 0) return `Nothing to do: every date in ${plan.from} .. ${plan.to} is fresh.`;

  const lines = [
    `Backfill plan (${plan.mode}) for ${plan.from} .. ${plan.to}: ${count(plan.dates.length, 'date')} to rerun, ` +
      `${plan.skipped} fresh and skipped.`,
  ];
  const groups = groupDates(plan.dates);
  const shownGroups = groups.slice(0, options.maxRuns ?? groups.length);
  for (const group of shownGroups) {
    const first = group[0];
    const last = group[group.length - 1];
    const span = first.date === last.date ? first.date : `${first.date} .. ${last.date}`;
    lines.push(
      `  ${span.padEnd(24)}  (${count(group.length, 'date')})  ${describeStages(pipeline, first.stages)}`,
    );
    const why = [...new Set(group.flatMap((date) => date.reasons.map(describeReason)))];
    const shown = why.length > 4 ? [...why.slice(0, 4), `${why.length - 4} more`] : why;
    lines.push(`      why: ${shown.join('; ')}`);
    const transitions = [...new Set(group.flatMap((date) => date.transitions))];
    if (transitions.length > 0) lines.push(`      transitions first: ${transitions.join(', ')}`);
  }
  if (shownGroups.length < groups.length) {
    const hidden = groups.slice(shownGroups.length);
    const dates = hidden.reduce((sum, group) => sum + group.length, 0);
    lines.push(
      `  … and ${count(hidden.length, 'more run')} of dates (${count(dates, 'date')}, ${hidden[0][0].date} on); ` +
        '`hindsight plan` shows them all',
    );
  }
  const { stageRuns, fullRerunStageRuns } = plan.totals;
  const saving =
    stageRuns >= fullRerunStageRuns
      ? 'the same as a full rerun'
      : `saves ${Math.floor(((fullRerunStageRuns - stageRuns) * 100) / fullRerunStageRuns)}% of a full rerun`;
  lines.push(
    `Totals: ${count(plan.totals.dates, 'date')}, ${count(stageRuns, 'stage-run')}; a full rerun is ` +
      `${count(fullRerunStageRuns, 'stage-run')} (${count(plan.skipped + plan.totals.dates, 'date')} × ` +
      `${count(pipeline.stages.length, 'stage')}): ${saving}.`,
  );
  return lines.join('\n');
}

/** The plan as a plain JSON-ready object whose keys always come in the same order. */
export function planToJson(plan: BackfillPlan): BackfillPlan {
  return {
    mode: plan.mode,
    from: plan.from,
    to: plan.to,
    dates: plan.dates.map((date) => ({
      date: date.date,
      startStage: date.startStage,
      stages: [...date.stages],
      reasons: date.reasons.map(reasonToJson),
      transitions: [...date.transitions],
    })),
    skipped: plan.skipped,
    totals: {
      dates: plan.totals.dates,
      stageRuns: plan.totals.stageRuns,
      fullRerunStageRuns: plan.totals.fullRerunStageRuns,
    },
  };
}

function reasonToJson(reason: PlanReason): PlanReason {
  switch (reason.kind) {
    case 'missing':
    case 'requested':
      return { kind: reason.kind, stage: reason.stage };
    case 'code-stale':
      return {
        kind: reason.kind,
        stage: reason.stage,
        changes: reason.changes.map((change) => ({
          stage: change.stage,
          recorded: change.recorded,
          code: change.code,
        })),
      };
    case 'input-stale':
      return {
        kind: reason.kind,
        stage: reason.stage,
        input: reason.input,
        inputDate: reason.inputDate,
        change: reason.change,
        recordedRunId: reason.recordedRunId,
        currentRunId: reason.currentRunId,
      };
  }
}

/**
 * A reason in words, without its dates, so a run of many dates shows each cause once: what `plan`
 * prints and what the status grid and page show for a cell.
 */
export function describeReason(reason: PlanReason): string {
  switch (reason.kind) {
    case 'missing':
      return `${reason.stage} has not run`;
    case 'requested':
      return `requested from ${reason.stage}`;
    case 'code-stale':
      return `code changed: ${reason.changes
        .map((change) => `${change.stage} ${versionLabel(change.recorded)} → ${versionLabel(change.code)}`)
        .join(', ')}`;
    case 'input-stale': {
      const { stage, input } = reason;
      const what = {
        planned: `${input} reruns first`,
        rerun: `${input} was rerun after ${stage} read it`,
        new: `${input} has a run ${stage} did not read`,
        removed: `${input} lost a run ${stage} read`,
      }[reason.change];
      return `input of ${stage} changed: ${what}`;
    }
  }
}

function versionLabel(version: number | null): string {
  return version === null ? 'none' : `v${version}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * One line per run of consecutive conflicting dates with the same stages and readers: the
 * dates, where the plan reruns them from, which stage of the daily run reads them, and why.
 */
export function formatDependencyConflicts(
  conflicts: readonly DependencyConflict[],
  pipeline: Pipeline,
): string[] {
  const groups = groupConsecutive(conflicts, (c) => `${c.stages.join(',')}|${c.readBy.join(',')}`);
  return groups.map((group) => {
    const first = group[0];
    const last = group[group.length - 1];
    const span = first.date === last.date ? first.date : `${first.date} .. ${last.date}`;
    const why = [...new Set(group.flatMap((conflict) => conflict.reasons.map(describeReason)))];
    const shown = why.length > 4 ? [...why.slice(0, 4), `${why.length - 4} more`] : why;
    return (
      `${span} (${count(group.length, 'date')}): rerun ${pipeline.isChain ? `from ${first.startStage}` : inWords(first.stages)}, ` +
      `read by ${first.readBy.join(', ')}; why: ${shown.join('; ')}`
    );
  });
}

/** Runs of calendar-consecutive dates that rerun the same stages. */
function groupDates(dates: readonly PlannedDate[]): PlannedDate[][] {
  return groupConsecutive(dates, (date) => date.stages.join(','));
}

/**
 * The stages a date reruns, in words: in a chain, where it enters and the suffix it runs
 * (`from transform: transform → aggregate → publish`); in a graph, the set (`stages: sessions, conversion`).
 */
/** `a`, `a and b`, `a, b and c`. */
function inWords(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

export function describeStages(pipeline: Pipeline, stages: readonly string[]): string {
  return pipeline.isChain ? `from ${stages[0]}: ${stages.join(' → ')}` : `stages: ${stages.join(', ')}`;
}

/** Runs of calendar-consecutive dates with the same key. */
function groupConsecutive<T extends { readonly date: IsoDate }>(
  items: readonly T[],
  key: (item: T) => string,
): T[][] {
  const groups: T[][] = [];
  for (const item of items) {
    const group = groups[groups.length - 1];
    const previous = group?.[group.length - 1];
    if (previous && key(previous) === key(item) && addDays(previous.date, 1) === item.date) group.push(item);
    else groups.push([item]);
  }
  return groups;
}
