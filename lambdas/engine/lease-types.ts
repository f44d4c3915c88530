/** The lease's vocabulary, shared by the lease rules, the errors and the Task payloads (it imports nothing). */

/** Kinds of lease holder. */
export type LeaseKind = 'daily' | 'backfill';

/** What acquiring or renewing gives the holder: its fencing token and when the lease expires (ISO-8601). */
export interface LeaseGrant {
  readonly token: number;
  readonly expiresAt: string;
}
