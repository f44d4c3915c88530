/**
 * What the CLI says about dates left stale, so that no command leaves them stale in silence: after
 * a `run` or a `backfill` (what the ledger says now), and with a plan before it runs (what the
 * ledger will say once it has run). The dates come from lambdas/engine/plan/still-stale.ts.
 */

import { addDays, daysBetween, type IsoDate } from '../lambdas/engine/dates';
import type { Pipeline } from '../lambdas/engine/pipeline';
import {
  type BackfillPlan,
  describeReason,
  indexLedger,
  ledgerAfterPlan,
  type PlanReason,
  type StillStale,
  stillStale,
} from '../lambdas/engine/plan';
import type { SqlExecutor } from '../lambdas/engine/sql';
import { readDueRange } from '../lambdas/ledger/due-dates';
import { readLedger, toEntry } from '../lambdas/ledger/ledger-store';
import type { CommandContext } from './command-context';
import type { ProjectPipeline } from './session';
import type { Target } from './target';
import { count } from './words';

/** Reasons shown in the notice; the rest are counted. */
const SHOWN_REASONS = 2;

/**
 * "Still stale: 6 dates (…), because …" and the command that reruns them, or null when nothing is
 * stale. `fix` is the whole command line (`hindsight backfill --auto`, with the global options typed).
 */
export function describeStillStale(
  stale: StillStale,
  options: {
    /** `now`: after a run or a backfill; `after-plan`: before a backfill, once it will have run. */
    readonly when: 'now' | 'after-plan';
    readonly fix: string;
    /** The plan's range as typed (`--from`, `--to`), to say how many dates lie outside it. */
    readonly range?: { readonly from?: string; readonly to?: string };
  },
): string | null {
  if (stale.dates.length === 0 || stale.from === null || stale.to === null) return null;
  const n = stale.dates.length;
  const span = stale.from === stale.to ? stale.from : `${stale.from} .. ${stale.to}`;
  const outside = [
    options.range?.from !== undefined && stale.beforeRange > 0
      ? `${stale.beforeRange} before --from ${options.range.from}`
      : null,
    options.range?.to !== undefined && stale.afterRange > 0
      ? `${stale.afterRange} after --to ${options.range.to}`
      : null,
  ].filter((part) => part !== null);
  const where = outside.length === 0 ? '' : ` (${outside.join(', ')})`;
  const because = `because ${shortWhy(stale.dates.flatMap((date) => date.reasons))}${where}`;
  return options.when === 'now'
    ? `Still stale: ${count(n, 'date')} (${span}), ${because}.\nRerun ${n === 1 ? 'it' : 'them'} with: ${options.fix}`
    : `${count(n, 'date')} will stay stale after this backfill (${span}), ${because}.\n` +
        `Rerun everything stale with: ${options.fix}`;
}

/**
 * The causes in a few words: distinct reasons, those that start a chain of reruns first (an input
 * that "reruns first" only passes a cause on), at most SHOWN_REASONS and how many more.
 */
function shortWhy(reasons: readonly PlanReason[]): string {
  const passedOn = (reason: PlanReason) => reason.kind === 'input-stale' && reason.change === 'planned';
  const ordered = [...reasons.filter((r) => !passedOn(r)), ...reasons.filter(passedOn)];
  const words = [...new Set(ordered.map(describeReason))];
  const shown = words.slice(0, SHOWN_REASONS).join('; ');
  const more = words.length - SHOWN_REASONS;
  return more > 0 ? `${shown} (and ${count(more, 'more reason')})` : shown;
}

/** The ledger and the due dates as they are now: what an auto backfill of everything would rerun. */
export async function staleNow(sql: SqlExecutor, pipeline: Pipeline, today: IsoDate): Promise<StillStale> {
  const [ledger, due] = await Promise.all([readLedger(sql), readDueRange(sql)]);
  return stillStale(indexLedger(pipeline, ledger.map(toEntry)), { due, today });
}

/** What will be stale once `plan` has run on the ledger as it is now. */
export async function staleAfterPlan(
  sql: SqlExecutor,
  pipeline: Pipeline,
  plan: BackfillPlan,
  today: IsoDate,
): Promise<StillStale> {
  const [ledger, due] = await Promise.all([readLedger(sql), readDueRange(sql)]);
  const after = ledgerAfterPlan(indexLedger(pipeline, ledger.map(toEntry)), plan);
  return stillStale(after, { due, today, range: plan });
}

/**
 * The backfill that reruns every stale date: `backfill --auto`, or when they span more days than
 * one backfill may cover, its first part (the refusal of the rest says how to go on).
 */
export function fixArgs(stale: StillStale, maxDays: number): string[] {
  if (stale.from === null || stale.to === null || daysBetween(stale.from, stale.to) + 1 <= maxDays)
    return ['backfill', '--auto'];
  return ['backfill', '--auto', '--from', stale.from, '--to', addDays(stale.from, maxDays - 1)];
}

/** After a run or a backfill: says what is stale now and how to rerun it; nothing when all is fresh. */
export async function sayStillStale(
  ctx: CommandContext,
  target: Target,
  loaded: ProjectPipeline,
): Promise<void> {
  const stale = await staleNow(target.deps.sql, loaded.pipeline, ctx.today());
  const fix = ctx.commandLine(fixArgs(stale, ctx.maxDays(loaded)));
  const notice = describeStillStale(stale, { when: 'now', fix });
  if (notice !== null) ctx.io.out(notice);
}

/**
 * With a plan, before it runs: says what will still be stale once it has run (dates outside its
 * range, or reading dates it reruns), and the backfill that would rerun them too.
 */
export async function sayWhatStaysStale(
  ctx: CommandContext,
  target: Target,
  loaded: ProjectPipeline,
  plan: BackfillPlan,
  range: { readonly from?: string; readonly to?: string },
): Promise<void> {
  const stale = await staleAfterPlan(target.deps.sql, loaded.pipeline, plan, ctx.today());
  const fix = ctx.commandLine(fixArgs(stale, ctx.maxDays(loaded)));
  // A plan with nothing to run leaves the ledger as it is: what is stale is stale now.
  const when = plan.dates.length === 0 ? 'now' : 'after-plan';
  const notice = describeStillStale(stale, { when, fix, range });
  if (notice !== null) ctx.io.out(notice);
}
