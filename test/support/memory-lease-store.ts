import type { LeaseRecord, LeaseStore } from '../../lambdas/engine/lease';

/**
 * A LeaseStore in memory with the same condition as the DynamoDB store: a write lands only when
 * the stored record is still the one the caller saw (absent; or same token and holder, and while
 * held the same expiry). Counts calls, and can stage a competing write to make a caller lose a race.
 */
export class MemoryLeaseStore implements LeaseStore {
  reads = 0;
  writes = 0;
  failedWrites = 0;
  private record: LeaseRecord | undefined;
  private readonly beforeWrites: Array<(store: MemoryLeaseStore) => Promise<void> | void> = [];

  constructor(initial?: LeaseRecord) {
    this.record = initial && { ...initial };
  }

  /** The stored record, for assertions. */
  get current(): LeaseRecord | undefined {
    return this.record && { ...this.record };
  }

  /** Runs `hook` just before the next `tryWrite` checks its condition (once). */
  beforeNextWrite(hook: (store: MemoryLeaseStore) => Promise<void> | void): void {
    this.beforeWrites.push(hook);
  }

  /** Replaces the record unconditionally, as another writer would. */
  overwrite(record: LeaseRecord | undefined): void {
    this.record = record && { ...record };
  }

  async read(): Promise<LeaseRecord | undefined> {
    this.reads++;
    return this.current;
  }

  async tryWrite(next: LeaseRecord, seen: LeaseRecord | undefined): Promise<boolean> {
    const hook = this.beforeWrites.shift();
    if (hook) await hook(this);
    this.writes++;
    if (!sameVersion(this.record, seen)) {
      this.failedWrites++;
      return false;
    }
    this.record = { ...next };
    return true;
  }
}

function sameVersion(stored: LeaseRecord | undefined, seen: LeaseRecord | undefined): boolean {
  if (stored === undefined || seen === undefined) return stored === seen;
  if (stored.token !== seen.token || stored.holder !== seen.holder) return false;
  if (stored.holder === null || seen.holder === null) return true;
  return stored.expiresAt === seen.expiresAt;
}
