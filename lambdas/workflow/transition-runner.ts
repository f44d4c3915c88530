import type { IsoDate } from '../engine/dates';
import { HindsightError, StaleFenceTokenError } from '../engine/errors';
import type { Pipeline } from '../engine/pipeline';
import type { SqlClient } from '../engine/sql';
import { type Transition, transitionsFor } from '../engine/transition';
import { checkFence } from './stage-runner';

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

/** Ids of the transitions already applied to `date`. */
export async function appliedTransitions(sql: SqlClient, date: IsoDate): Promise<Set<string>> {
  const { rows } = await sql.query<{ transition_id: string }>(
    'SELECT transition_id FROM hindsight_transitions_applied WHERE day = $1::date',
    [date],
  );
  return new Set(rows.map((row) => row.transition_id));
}

/**
 * Applies the date's pending transitions in id order, each in one transaction with its ledger
 * row and behind the fence, so each applies exactly once per date even across retries.
 */
export async function applyTransitions(
  sql: SqlClient,
  pipeline: Pipeline,
  transitions: readonly Transition[],
  request: { date: IsoDate; startStage: string; fenceToken: number; executionId: string },
): Promise<string[]> {
  if (transitions.length === 0) return [];
  const pending = transitionsFor(
    pipeline,
    transitions,
    request.startStage,
    await appliedTransitions(sql, request.date),
  );
  const applied: string[] = [];
  for (const transition of pending) {
    try {
      await sql.transaction(async (tx) => {
        await checkFence(tx, request.fenceToken);
        await transition.apply({ sql: tx, date: request.date });
        await tx.query(
          `INSERT INTO hindsight_transitions_applied (transition_id, day, stage, target_version, execution_id)
           VALUES ($1, $2::date, $3, $4, $5)`,
          [transition.id, request.date, transition.stage, transition.toVersion, request.executionId],
        );
      });
    } catch (error) {
      if (error instanceof StaleFenceTokenError) throw error;
      throw new TransitionFailedError(transition.id, request.date, error);
    }
    applied.push(transition.id);
  }
  return applied;
}
