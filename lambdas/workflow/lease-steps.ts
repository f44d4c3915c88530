/**
 * "Acquire Lease", "Release Lease" and the release of a stopped execution's lease (the lease
 * Lambda): the lease rules of lambdas/engine/lease.ts, with the fence in PostgreSQL moved to match.
 */
import * as z from 'zod/mini';
import { InvalidInputError } from '../engine/errors';
import { toLeaseGrant } from '../engine/lease';
import { executionId, fenceToken, parseInput } from '../engine/schemas';
import { raiseFence } from '../ledger/fence';
import type { ExecutionStatusChange, LeaseGrant, LeaseRequest } from './contracts';
import type { StepDependencies } from './steps';

const leaseRequestSchema = z.strictObject(
  {
    action: z.enum(['acquire', 'renew', 'release'], { error: 'one of acquire, renew, release' }),
    kind: z.enum(['daily', 'backfill'], { error: 'one of daily, backfill' }),
    executionId,
    token: z.optional(fenceToken),
  },
  { error: 'an object like {"action": "acquire", "kind": "daily", "executionId": "arn:…"}' },
);

/** The lease Lambda: "Acquire Lease", "Renew Lease", "Release Lease", and release on abort. */
export async function handleLease(
  deps: StepDependencies,
  raw: unknown,
): Promise<LeaseGrant | { released: boolean; holderRunning?: true }> {
  if (isStatusChange(raw)) return releaseAfterAbort(deps, raw);
  const request: LeaseRequest = parseInput(leaseRequestSchema, raw);
  const now = deps.now().getTime();
  switch (request.action) {
    case 'acquire': {
      const lease = await deps.leases.acquire(request.kind, request.executionId, now);
      // A new owner moves the fence at once, so a displaced holder cannot commit even before
      // the new owner's first stage does.
      await raiseFence(deps.sql, lease.token);
      return toLeaseGrant(lease);
    }
    case 'renew': {
      if (request.token === undefined)
        throw InvalidInputError.of('token', undefined, 'the token returned by acquire');
      return toLeaseGrant(await deps.leases.renew(request.executionId, request.token, now));
    }
    case 'release':
      return release(deps, request.executionId, request.token);
  }
}

function isStatusChange(raw: unknown): raw is ExecutionStatusChange {
  if (raw === null || typeof raw !== 'object' || !('detail' in raw)) return false;
  const detail = raw.detail;
  return detail !== null && typeof detail === 'object' && 'executionArn' in detail;
}

/**
 * A stopped execution runs no Catch: the status-change rule releases the lease it still holds. The
 * event may come late, after a redrive made the execution run again under the same ARN: the lease
 * is released only while Step Functions says the execution is not running, and only the lease it
 * was seen holding (`LeaseService.releaseEnded`).
 */
async function releaseAfterAbort(
  deps: StepDependencies,
  event: ExecutionStatusChange,
): Promise<{ released: boolean; holderRunning?: true }> {
  const holder = parseInput(executionId, event.detail.executionArn, 'detail.executionArn');
  const result = await deps.leases.releaseEnded(holder);
  await fenceOffReleased(deps, result);
  return result.holderRunning ? { released: false, holderRunning: true } : { released: result.released };
}

/**
 * Releases the lease and moves the fence past its token, so a late Task of the releasing
 * execution (a redrive, a zombie) cannot commit while nobody holds the lease.
 */
async function release(
  deps: StepDependencies,
  holder: string,
  token?: number,
): Promise<{ released: boolean }> {
  const result = await deps.leases.release(holder, token);
  await fenceOffReleased(deps, result);
  return { released: result.released };
}

/**
 * Idempotent end to end: the fence goes past the released token when this call released it, and
 * also when it released nothing but finds the lease free, since then an earlier attempt (whose
 * answer was lost, or which failed before its fence raise) or another release freed it, and a free
 * lease's last token must be dead. Raising never lowers the fence, so repeating it is harmless.
 */
async function fenceOffReleased(
  deps: StepDependencies,
  result: { readonly released: boolean; readonly token?: number; readonly holderRunning?: true },
): Promise<void> {
  if (result.holderRunning) return;
  const released = result.released ? result.token : await deps.leases.freeToken();
  if (released !== undefined) await raiseFence(deps.sql, released + 1);
}
