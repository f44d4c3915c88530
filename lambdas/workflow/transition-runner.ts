import type { IsoDate } from '../engine/dates';
import { HindsightError, StaleFenceTokenError } from '../engine/errors';
import type { Pipeline } from '../engine/pipeline';
import type { SqlClient } from '../engine/sql';
import { type Transition, transitionsFor } from '../engine/transition';
import { checkFence } from '../ledger/fence';
import { readTransitionsAppliedTo, recordTransitionApplied } from '../ledger/ledger-store';

/** A transition threw; its transaction rolled back, so a resumed backfill tries it again. */
export class TransitionFailedError extends HindsightError {
  constructor(
    readonly transitionId: string,
    readonly date: IsoDate,
    cause: unknown,
  ) {
    super(
      `Transition ${transitionId} failed for ${date}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/**
 * Applies the date's pending transitions in id order, each in one transaction with its ledger
 * row and behind the fence, so each applies exactly once per date even across retries.
 */
export async function applyTransitions(
  sql: SqlClient,
  pipeline: Pipeline,
  transitions: readonly Transition[],
  request: { date: IsoDate; stages: readonly string[]; fenceToken: number; executionId: string },
): Promise<string[]> {
  if (transitions.length === 0) return [];
  const pending = transitionsFor(
    pipeline,
    transitions,
    request.stages,
    await readTransitionsAppliedTo(sql, request.date),
  );
  const applied: string[] = [];
  for (const transition of pending) {
    try {
      await sql.transaction(async (tx) => {
        await checkFence(tx, request.fenceToken);
        await transition.apply({ sql: tx, date: request.date });
        await recordTransitionApplied(tx, {
          transitionId: transition.id,
          date: request.date,
          stage: transition.stage,
          toVersion: transition.toVersion,
          executionId: request.executionId,
        });
      });
    } catch (error) {
      if (error instanceof StaleFenceTokenError) throw error;
      throw new TransitionFailedError(transition.id, request.date, error);
    }
    applied.push(transition.id);
  }
  return applied;
}
