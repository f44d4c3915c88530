/**
 * The lease that keeps the daily run and a backfill from interleaving: pure rules over two ports,
 * a `LeaseStore` (one record, changed only by single conditional writes) and a `HolderLiveness`.
 * No clock is read here: every call is given `now` (epoch ms).
 *
 * Every transition is one conditional write of a whole new record, made only if the stored record
 * is still the version the caller read (same token and holder, and while held the same expiry).
 * Only a new owner mints a token (`seen.token + 1`); renew and release keep it, so the token is
 * strictly increasing over owners and a released record remembers the last one.
 *
 * Takeover and fencing (the token is also checked by every stage transaction in PostgreSQL):
 *
 *   time ──────────────────────────────────────────────────────────────────────────────▶
 *   A (daily)     acquire → 7 ── commit(7) ✓ ── stalls, or is stopped (no Catch) ·· commit(7) ✗
 *   B (backfill)          acquire ✗ LeaseHeldError ·· acquire: A expired or not RUNNING → 8 ── commit(8) ✓
 *   lease item    ── holder A, token 7 ───────────────────────┬─ holder B, token 8 ──────────
 *                                                 conditional write "token is still 7"
 *   PostgreSQL    fence 7 ────────────────────────────────────── fence 8: A's late commit(7) is
 *                                                                refused (StaleFenceTokenError)
 *
 * A takeover never needs A's cooperation: A's next renew fails with LeaseLostError and anything
 * A still tries to commit carries an older token than the fence.
 */

import { InvalidInputError, LeaseContendedError, LeaseHeldError, LeaseLostError } from './errors';
import type { LeaseGrant, LeaseKind } from './lease-types';

/** How long a lease lasts when not renewed; the backfill renews it before every date. */
export const DEFAULT_LEASE_DURATION_MS = 15 * 60_000;

/**
 * A holder that re-enters or renews its lease within this long of the last extension keeps it as
 * it is: the expiry is still at least the duration less this away, and a write buys nothing.
 */
export const DEFAULT_RENEW_INTERVAL_MS = 60_000;

/** Conditional writes tried before giving up with `LeaseContendedError`. */
export const DEFAULT_LEASE_WRITE_ATTEMPTS = 5;

/** The stored lease while an execution holds it. */
export interface HeldLease {
  /** `$$.Execution.Id` (the execution ARN) of the holder. */
  readonly holder: string;
  readonly kind: LeaseKind;
  /** Fencing token: strictly larger for every new owner. */
  readonly token: number;
  /** Epoch ms; from this instant on, anyone may take the lease over. */
  readonly expiresAt: number;
  /** Epoch ms when this owner took the lease. */
  readonly acquiredAt: number;
}

/** The stored lease after a release: no holder, but the last token stays so the next one is larger. */
export interface ReleasedLease {
  readonly holder: null;
  readonly token: number;
}

/** The one stored lease record; a store with no record yet answers `undefined`. */
export type LeaseRecord = HeldLease | ReleasedLease;

/** True when somebody holds the lease (expired or not). */
export function isHeld(record: LeaseRecord | undefined): record is HeldLease {
  return record !== undefined && record.holder !== null;
}

/** Storage for the one lease record. Implementations: DynamoDB (AWS, dynalite locally), memory (tests). */
export interface LeaseStore {
  /** The current record, strongly consistent; `undefined` when no lease was ever taken. */
  read(): Promise<LeaseRecord | undefined>;
  /**
   * Replaces the record with `next` in one conditional write, only if the stored record is still
   * `seen`: no record at all when `seen` is `undefined`; otherwise the same token and holder, and
   * while held the same `expiresAt`. Resolves `false`, having written nothing, when it is not.
   */
  tryWrite(next: LeaseRecord, seen: LeaseRecord | undefined): Promise<boolean>;
}

/** Tells whether a holder's execution still runs (Step Functions `DescribeExecution` in AWS). */
export interface HolderLiveness {
  isRunning(executionId: string): Promise<boolean>;
}

export interface LeaseOptions {
  /**
   * Lifetime of a lease from acquire or renew, in ms.
   * @default 15 minutes
   */
  readonly durationMs?: number;
  /**
   * Conditional writes tried per call; each lost race re-reads the record and decides again.
   * @default 5
   */
  readonly maxWriteAttempts?: number;
  /**
   * How long after an extension a re-entry or renewal by the holder writes nothing (the backfill
   * re-enters before every date, which locally take milliseconds). Below `durationMs`.
   * @default 1 minute (capped at half the duration)
   */
  readonly renewIntervalMs?: number;
}

/** Why a lease was taken from its holder. */
export type TakeoverReason = 'expired' | 'holder-not-running';

/** Result of `acquire`: the lease now held, and how it was obtained. */
export interface AcquiredLease extends HeldLease {
  /** `acquired`: it was free; `reentered`: this execution already held it (a redrive); `took-over`. */
  readonly outcome: 'acquired' | 'reentered' | 'took-over';
  /** On takeover: whom it was taken from, and why. */
  readonly displaced?: {
    readonly holder: string;
    readonly kind: LeaseKind;
    readonly token: number;
    readonly reason: TakeoverReason;
  };
}

/** Result of `release`; releasing a lease one does not hold is not an error. */
export type ReleaseResult =
  | { readonly released: true; readonly token: number }
  | { readonly released: false };

interface Transition {
  readonly next: HeldLease;
  readonly outcome: AcquiredLease['outcome'];
  readonly displaced?: AcquiredLease['displaced'];
}

/** Acquire, renew and release by the rules above, over a store and a liveness check. */
export class LeaseService {
  private readonly durationMs: number;
  private readonly maxWriteAttempts: number;
  private readonly renewIntervalMs: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly liveness: HolderLiveness,
    options: LeaseOptions = {},
  ) {
    this.durationMs = options.durationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.maxWriteAttempts = options.maxWriteAttempts ?? DEFAULT_LEASE_WRITE_ATTEMPTS;
    this.renewIntervalMs =
      options.renewIntervalMs ?? Math.min(DEFAULT_RENEW_INTERVAL_MS, Math.floor(this.durationMs / 2));
    if (!Number.isSafeInteger(this.durationMs) || this.durationMs <= 0) {
      throw InvalidInputError.of('durationMs', this.durationMs, 'a positive whole number of milliseconds');
    }
    if (!Number.isSafeInteger(this.maxWriteAttempts) || this.maxWriteAttempts < 1) {
      throw InvalidInputError.of('maxWriteAttempts', this.maxWriteAttempts, 'a whole number of at least 1');
    }
    if (
      !Number.isSafeInteger(this.renewIntervalMs) ||
      this.renewIntervalMs < 0 ||
      this.renewIntervalMs >= this.durationMs
    ) {
      throw InvalidInputError.of(
        'renewIntervalMs',
        this.renewIntervalMs,
        `a whole number of milliseconds from 0 to below the duration (${this.durationMs})`,
      );
    }
  }

  /**
   * Takes the lease for `executionId`: when free; again when it already holds it (a redrive), with
   * the same token; or over another holder whose lease expired or whose execution no longer runs.
   * Throws `LeaseHeldError` when another running execution holds an unexpired lease.
   */
  async acquire(kind: LeaseKind, executionId: string, now: number): Promise<AcquiredLease> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      const { next, outcome, displaced } = await this.decideAcquire(seen, kind, executionId, now);
      if (outcome === 'reentered' && next === seen) return { ...next, outcome };
      if (await this.store.tryWrite(next, seen))
        return displaced ? { ...next, outcome, displaced } : { ...next, outcome };
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('acquire', executionId, attempt);
      seen = await this.store.read();
    }
  }

  /**
   * Extends the lease held by `executionId` with `token` (never shortening it). Throws
   * `LeaseLostError` when the lease was released or taken over since.
   */
  async renew(executionId: string, token: number, now: number): Promise<HeldLease> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      if (!isHeld(seen) || seen.holder !== executionId || seen.token !== token) {
        throw new LeaseLostError(executionId, token, seen?.holder ?? null, seen?.token ?? null);
      }
      const next = this.extended(seen, now);
      if (next === seen) return seen;
      if (await this.store.tryWrite(next, seen)) return next;
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('renew', executionId, attempt);
      seen = await this.store.read();
    }
  }

  /**
   * Releases the lease if `executionId` holds it (with `token`, when given), keeping the token.
   * Otherwise does nothing and reports `released: false`: this runs from Catch blocks and from the
   * rule for stopped executions, where the lease may already be gone.
   */
  async release(executionId: string, token?: number): Promise<ReleaseResult> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      if (!isHeld(seen) || seen.holder !== executionId || (token !== undefined && seen.token !== token)) {
        return { released: false };
      }
      if (await this.store.tryWrite({ holder: null, token: seen.token }, seen)) {
        return { released: true, token: seen.token };
      }
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('release', executionId, attempt);
      seen = await this.store.read();
    }
  }

  private async decideAcquire(
    seen: LeaseRecord | undefined,
    kind: LeaseKind,
    executionId: string,
    now: number,
  ): Promise<Transition> {
    if (!isHeld(seen)) {
      return { next: this.fresh(kind, executionId, (seen?.token ?? 0) + 1, now), outcome: 'acquired' };
    }
    if (seen.holder === executionId) return { next: this.extended(seen, now), outcome: 'reentered' };
    const reason = await this.takeoverReason(seen, now);
    if (reason === undefined) throw new LeaseHeldError(seen.holder, seen.kind, seen.expiresAt);
    return {
      next: this.fresh(kind, executionId, seen.token + 1, now),
      outcome: 'took-over',
      displaced: { holder: seen.holder, kind: seen.kind, token: seen.token, reason },
    };
  }

  private async takeoverReason(seen: HeldLease, now: number): Promise<TakeoverReason | undefined> {
    if (now >= seen.expiresAt) return 'expired';
    if (!(await this.liveness.isRunning(seen.holder))) return 'holder-not-running';
    return undefined;
  }

  private fresh(kind: LeaseKind, holder: string, token: number, now: number): HeldLease {
    return { holder, kind, token, expiresAt: now + this.durationMs, acquiredAt: now };
  }

  /** The lease extended to `now + duration`; the same object, unwritten, when extended less than the renew interval ago. */
  private extended(lease: HeldLease, now: number): HeldLease {
    if (lease.expiresAt - now > this.durationMs - this.renewIntervalMs) return lease;
    return { ...lease, expiresAt: Math.max(lease.expiresAt, now + this.durationMs) };
  }
}

/** The lease Lambda's answer (`$.lease`) for a held lease. */
export function toLeaseGrant(lease: HeldLease): LeaseGrant {
  return { token: lease.token, expiresAt: new Date(lease.expiresAt).toISOString() };
}
