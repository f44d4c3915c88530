/**
 * The fencing token in PostgreSQL (`hindsight_fence`): every stage and transition transaction
 * checks and advances it, so a holder whose lease was taken over can never commit.
 */
import { StaleFenceTokenError } from '../engine/errors';
import type { SqlExecutor } from '../engine/sql';

/** Inside a transaction: moves the fence to `token`, refusing a token older than one already used. */
export async function checkFence(tx: SqlExecutor, token: number): Promise<void> {
  const { rowCount } = await tx.query('UPDATE hindsight_fence SET token = $1 WHERE id = 1 AND token <= $1', [
    token,
  ]);
  if (rowCount === 1) return;
  const { rows } = await tx.query<{ token: number }>('SELECT token FROM hindsight_fence WHERE id = 1');
  throw new StaleFenceTokenError(token, rows[0]?.token ?? Number.NaN);
}

/** Moves the fence up to a newly granted `token` (never down), so older holders are refused at once. */
export async function raiseFence(sql: SqlExecutor, token: number): Promise<void> {
  await sql.query('UPDATE hindsight_fence SET token = $1 WHERE id = 1 AND token < $1', [token]);
}
