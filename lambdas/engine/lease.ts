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
 *
 * Liveness: a healthy holder never loses its lease to expiry, because every Task that runs under
 * the lease renews it first (`renew` by token, `renewIfHeld` by execution id), and the lease
 * outlasts the longest Task attempt plus its longest retry wait: `lib/lease-coverage.ts` checks
 * that at synth for every path through the deployed workflows.
 *
 * Lost responses: a conditional write whose response was lost (and which the SDK retried, failing
 * its own condition) is recognised by re-reading the record: when it is exactly the record this
 * call wrote, the call reports what it did (a takeover stays a takeover), not a re-entry.
 */

import { InvalidInputError, LeaseContendedError, LeaseHeldError, LeaseLostError } from './errors';
import type { LeaseGrant, LeaseKind } from './lease-types';

/**
 * How long a lease lasts when not renewed. Every Task under the lease renews it before it works,
 * so it must outlast one Task attempt and its retry wait (checked at synth, `lib/lease-coverage.ts`).
 */
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
   * while held the same `expiresAt`. Resolves `false` when it is not, having written nothing — or,
   * in a store behind a network, when this write landed but its answer was lost and a retry of it
   * failed the condition: the service re-reads the record after every `false` and recognises its
   * own write.
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
      const granted: AcquiredLease = displaced ? { ...next, outcome, displaced } : { ...next, outcome };
      if (await this.store.tryWrite(next, seen)) return granted;
      const after = await this.store.read();
      // The write landed but its answer was lost (the SDK's retry then failed the condition).
      if (sameRecord(after, next)) return granted;
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('acquire', executionId, attempt);
      seen = after;
    }
  }

  /**
   * `renew` for a holder whose Tasks follow each other ("Run <Stage>"): when this service saw the
   * same holder and token extended less than the renew interval ago, a renewal would write nothing,
   * so it does not read either. Safe because the fence, not this check, refuses a holder that lost its
   * lease meanwhile (its commit carries a token older than the new holder's); a token this service
   * never saw held — forged or stale — is always checked against the store.
   */
  async keep(executionId: string, token: number, now: number): Promise<void> {
    const last = this.lastRenewal;
    if (
      last !== undefined &&
      last.holder === executionId &&
      last.token === token &&
      now >= last.at &&
      now - last.at < this.renewIntervalMs
    ) {
      return;
    }
    await this.renew(executionId, token, now);
  }

  /** The holder, token and last extension of the lease this service last renewed (see `keep`). */
  private lastRenewal: { readonly holder: string; readonly token: number; readonly at: number } | undefined;

  /**
   * Extends the lease held by `executionId` with `token` (never shortening it). Throws
   * `LeaseLostError` when the lease was released or taken over since.
   */
  async renew(executionId: string, token: number, now: number): Promise<HeldLease> {
    const renewed = await this.extendHeld(executionId, token, now);
    if ('held' in renewed) {
      // When it was last extended, not now: skipping keeps the same guarantee as a renewal that
      // writes nothing (an expiry at least the duration less the interval away).
      this.lastRenewal = { holder: executionId, token, at: renewed.held.expiresAt - this.durationMs };
      return renewed.held;
    }
    const { found } = renewed;
    throw new LeaseLostError(executionId, token, found?.holder ?? null, found?.token ?? null);
  }

  /**
   * Extends the lease if `executionId` holds it, whatever its token (never shortening it), and
   * returns it; writes nothing and returns `undefined` when it does not hold it. "Prepare Date"
   * renews this way before its first statement: a redriven date may hold a token its input does
   * not know, and one that holds nothing must not take the lease before its predecessor check.
   */
  async renewIfHeld(executionId: string, now: number): Promise<HeldLease | undefined> {
    const renewed = await this.extendHeld(executionId, undefined, now);
    return 'held' in renewed ? renewed.held : undefined;
  }

  /** The lease extended for `executionId` (holding `token`, when given), or the record found instead. */
  private async extendHeld(
    executionId: string,
    token: number | undefined,
    now: number,
  ): Promise<{ readonly held: HeldLease } | { readonly found: LeaseRecord | undefined }> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      if (!isHeld(seen) || seen.holder !== executionId || (token !== undefined && seen.token !== token)) {
        return { found: seen };
      }
      const next = this.extended(seen, now);
      if (next === seen) return { held: seen };
      if (await this.store.tryWrite(next, seen)) return { held: next };
      const after = await this.store.read();
      if (sameRecord(after, next)) return { held: next };
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('renew', executionId, attempt);
      seen = after;
    }
  }

  /**
   * Releases the lease if `executionId` holds it (with `token`, when given), keeping the token.
   * Otherwise does nothing and reports `released: false`: this runs from Catch blocks and from the
   * rule for stopped executions, where the lease may already be gone. A release whose answer was
   * lost still reports the release (the record is then free with the token it held).
   */
  async release(executionId: string, token?: number): Promise<ReleaseResult> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      if (!isHeld(seen) || seen.holder !== executionId || (token !== undefined && seen.token !== token)) {
        return { released: false };
      }
      const attemptResult = await this.tryRelease(seen);
      if ('done' in attemptResult) return attemptResult.done;
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('release', executionId, attempt);
      seen = attemptResult.after;
    }
  }

  /**
   * Releases the lease of an execution that ended, for the rule that sees executions stop, time
   * out or fail: only while the liveness check says that execution is not running (a redriven
   * one is running again, and a late event about its past attempt must not release its lease),
   * and only the exact lease it was seen holding (token, expiry), asked again after any lost race.
   * Reports `holderRunning` when the execution runs, and leaves the lease as it is.
   */
  async releaseEnded(executionId: string): Promise<ReleaseResult & { readonly holderRunning?: true }> {
    let seen = await this.store.read();
    for (let attempt = 1; ; attempt++) {
      if (!isHeld(seen) || seen.holder !== executionId) return { released: false };
      if (await this.liveness.isRunning(executionId)) return { released: false, holderRunning: true };
      const attemptResult = await this.tryRelease(seen);
      if ('done' in attemptResult) return attemptResult.done;
      if (attempt >= this.maxWriteAttempts) throw new LeaseContendedError('release', executionId, attempt);
      seen = attemptResult.after;
    }
  }

  /** The last token of a lease nobody holds (it is dead: the fence belongs past it); undefined while held or never taken. */
  async freeToken(): Promise<number | undefined> {
    const record = await this.store.read();
    return record !== undefined && !isHeld(record) ? record.token : undefined;
  }

  /** One conditional release of `seen`, or the record found after losing the race. */
  private async tryRelease(
    seen: HeldLease,
  ): Promise<{ readonly done: ReleaseResult } | { readonly after: LeaseRecord | undefined }> {
    const next: ReleasedLease = { holder: null, token: seen.token };
    const done = { released: true, token: seen.token } as const;
    if (await this.store.tryWrite(next, seen)) return { done };
    const after = await this.store.read();
    // Lost answer: the record is free with the very token this call released.
    return sameRecord(after, next) ? { done } : { after };
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

/** True when two records are the same version, field by field. */
function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.holder === null || b.holder === null) return a.holder === b.holder && a.token === b.token;
  return (
    a.holder === b.holder &&
    a.kind === b.kind &&
    a.token === b.token &&
    a.expiresAt === b.expiresAt &&
    a.acquiredAt === b.acquiredAt
  );
}

/** The lease Lambda's answer (`$.lease`) for a held lease. */
export function toLeaseGrant(lease: HeldLease): LeaseGrant {
  return { token: lease.token, expiresAt: new Date(lease.expiresAt).toISOString() };
}
