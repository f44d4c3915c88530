import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseContendedError, LeaseHeldError, LeaseLostError } from '../../lambdas/engine/errors';
import {
  type HeldLease,
  type HolderLiveness,
  LeaseService,
  type LeaseStore,
  toLeaseGrant,
} from '../../lambdas/engine/lease';
import { MemoryLeaseStore } from '../support/memory-lease-store';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T02:00:00Z');
const DAILY = 'arn:aws:states:eu-west-1:123456789012:execution:Daily:2026-03-01';
const BACKFILL = 'arn:aws:states:eu-west-1:123456789012:execution:Backfill:after-deploy';
const OTHER = 'arn:aws:states:eu-west-1:123456789012:execution:Backfill:by-hand';

/** Liveness answered from a set: every holder runs unless marked stopped. */
class FakeLiveness implements HolderLiveness {
  readonly stopped = new Set<string>();
  readonly asked: string[] = [];
  async isRunning(executionId: string): Promise<boolean> {
    this.asked.push(executionId);
    return !this.stopped.has(executionId);
  }
}

function setup(options: { durationMs?: number; maxWriteAttempts?: number; renewIntervalMs?: number } = {}) {
  const store = new MemoryLeaseStore();
  const liveness = new FakeLiveness();
  const service = new LeaseService(store, liveness, { durationMs: 15 * MINUTE, ...options });
  return { store, liveness, service };
}

describe('Class: LeaseService', () => {
  describe('Method: acquire', () => {
    it('takes a free lease with token 1 when no lease was ever taken', async () => {
      // Prepare
      const { store, service } = setup();

      // Act
      const lease = await service.acquire('daily', DAILY, T0);

      // Assess
      expect(lease).toEqual({
        holder: DAILY,
        kind: 'daily',
        token: 1,
        expiresAt: T0 + 15 * MINUTE,
        acquiredAt: T0,
        outcome: 'acquired',
      });
      expect(store.current).toEqual({
        holder: DAILY,
        kind: 'daily',
        token: 1,
        expiresAt: T0 + 15 * MINUTE,
        acquiredAt: T0,
      });
      expect(toLeaseGrant(lease)).toEqual({ token: 1, expiresAt: '2026-03-01T02:15:00.000Z' });
    });

    it('takes a released lease with the next token', async () => {
      // Prepare
      const { store, service } = setup();
      store.overwrite({ holder: null, token: 41 });

      // Act
      const lease = await service.acquire('backfill', BACKFILL, T0);

      // Assess
      expect(lease).toMatchObject({ holder: BACKFILL, kind: 'backfill', token: 42, outcome: 'acquired' });
    });

    it('re-enters a lease the same execution holds, keeping the token and extending the expiry', async () => {
      // Prepare
      const { service, liveness } = setup();
      const first = await service.acquire('backfill', BACKFILL, T0);

      // Act: a redrive acquires again ten minutes later
      const again = await service.acquire('backfill', BACKFILL, T0 + 10 * MINUTE);

      // Assess
      expect(again).toMatchObject({ token: first.token, outcome: 'reentered', acquiredAt: T0 });
      expect(again.expiresAt).toBe(T0 + 25 * MINUTE);
      expect(liveness.asked).toEqual([]);
    });

    it('re-enters within the renew interval of its last extension without writing', async () => {
      // Prepare: the backfill re-enters before every date, and dates can take milliseconds
      const { service, store } = setup();
      const first = await service.acquire('backfill', BACKFILL, T0);
      const writes = store.writes;

      // Act
      const again = await service.acquire('backfill', BACKFILL, T0 + 59_000);
      const later = await service.acquire('backfill', BACKFILL, T0 + 61_000);

      // Assess: the first keeps the lease as it was; a minute on, it is extended again
      expect(again).toMatchObject({ token: first.token, outcome: 'reentered', expiresAt: first.expiresAt });
      expect(later).toMatchObject({
        token: first.token,
        outcome: 'reentered',
        expiresAt: T0 + 61_000 + 15 * MINUTE,
      });
      expect(store.writes - writes).toBe(1);
    });

    it('re-enters its own expired lease when nobody took it over', async () => {
      // Prepare
      const { service } = setup();
      const first = await service.acquire('daily', DAILY, T0);

      // Act
      const again = await service.acquire('daily', DAILY, T0 + 60 * MINUTE);

      // Assess
      expect(again).toMatchObject({ token: first.token, outcome: 'reentered', expiresAt: T0 + 75 * MINUTE });
    });

    it('refuses a lease another running execution holds, naming the holder, kind and expiry', async () => {
      // Prepare
      const { store, service, liveness } = setup();
      await service.acquire('daily', DAILY, T0);

      // Act
      const attempt = service.acquire('backfill', BACKFILL, T0 + 5 * MINUTE);

      // Assess
      await expect(attempt).rejects.toThrow(LeaseHeldError);
      await expect(attempt).rejects.toMatchObject({
        name: 'LeaseHeldError',
        holder: DAILY,
        kind: 'daily',
        expiresAt: T0 + 15 * MINUTE,
        message:
          `The lease is held by daily execution ${DAILY} until 2026-03-01T02:15:00.000Z, and that execution ` +
          'is still running. Wait for it to finish (or for the lease to expire), then acquire again.',
      });
      expect(liveness.asked).toEqual([DAILY]);
      expect(store.current).toMatchObject({ holder: DAILY, token: 1 });
    });

    it('refuses one millisecond before expiry', async () => {
      // Prepare
      const { service } = setup();
      await service.acquire('daily', DAILY, T0);

      // Act & Assess
      await expect(service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE - 1)).rejects.toThrow(
        LeaseHeldError,
      );
    });

    it('takes over an expired lease with the next token, without asking whether the holder runs', async () => {
      // Prepare
      const { store, service, liveness } = setup();
      await service.acquire('daily', DAILY, T0);

      // Act: exactly at expiry
      const lease = await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE);

      // Assess
      expect(lease).toMatchObject({
        holder: BACKFILL,
        token: 2,
        outcome: 'took-over',
        displaced: { holder: DAILY, kind: 'daily', token: 1, reason: 'expired' },
      });
      expect(liveness.asked).toEqual([]);
      expect(store.current).toMatchObject({ holder: BACKFILL, kind: 'backfill', token: 2 });
    });

    it('takes over an unexpired lease whose holder no longer runs', async () => {
      // Prepare
      const { service, liveness } = setup();
      await service.acquire('daily', DAILY, T0);
      liveness.stopped.add(DAILY);

      // Act
      const lease = await service.acquire('backfill', BACKFILL, T0 + MINUTE);

      // Assess
      expect(lease).toMatchObject({
        token: 2,
        outcome: 'took-over',
        displaced: { holder: DAILY, reason: 'holder-not-running' },
      });
    });

    it('gives every new owner a strictly larger token, across takeovers and releases', async () => {
      // Prepare
      const { service, liveness } = setup();
      const tokens: number[] = [];

      // Act
      tokens.push((await service.acquire('daily', DAILY, T0)).token);
      tokens.push((await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE)).token);
      liveness.stopped.add(BACKFILL);
      tokens.push((await service.acquire('backfill', OTHER, T0 + 16 * MINUTE)).token);
      await service.release(OTHER);
      tokens.push((await service.acquire('daily', DAILY, T0 + 17 * MINUTE)).token);
      tokens.push((await service.acquire('daily', DAILY, T0 + 18 * MINUTE)).token);

      // Assess
      expect(tokens).toEqual([1, 2, 3, 4, 4]);
    });

    it('re-reads and decides again after losing the race for a free lease', async () => {
      // Prepare
      const { store, service } = setup();
      store.beforeNextWrite((s) =>
        s.overwrite({ holder: OTHER, kind: 'backfill', token: 1, expiresAt: T0 + MINUTE, acquiredAt: T0 }),
      );

      // Act
      const attempt = service.acquire('daily', DAILY, T0);

      // Assess: the winner holds it now, so the loser is refused rather than overwriting it
      await expect(attempt).rejects.toMatchObject({ name: 'LeaseHeldError', holder: OTHER });
      expect(store.current).toMatchObject({ holder: OTHER, token: 1 });
    });

    it('retries after a lost race and takes the lease released meanwhile', async () => {
      // Prepare
      const { store, service } = setup();
      store.overwrite({ holder: null, token: 7 });
      store.beforeNextWrite((s) => s.overwrite({ holder: null, token: 8 }));

      // Act
      const lease = await service.acquire('daily', DAILY, T0);

      // Assess
      expect(lease).toMatchObject({ token: 9, outcome: 'acquired' });
      expect(store.failedWrites).toBe(1);
    });

    it('fails with LeaseContendedError after losing every allowed race, having written nothing', async () => {
      // Prepare
      const { store, service } = setup({ maxWriteAttempts: 3 });
      for (let token = 1; token <= 3; token++) {
        store.beforeNextWrite((s) => s.overwrite({ holder: null, token: token * 10 }));
      }

      // Act
      const attempt = service.acquire('daily', DAILY, T0);

      // Assess
      await expect(attempt).rejects.toThrow(LeaseContendedError);
      await expect(attempt).rejects.toThrow(
        `Could not acquire the lease for ${DAILY}: 3 conditional writes in a row lost the race to other writers.`,
      );
      expect(store.current).toEqual({ holder: null, token: 30 });
    });

    it('refuses a renew interval that is not below the duration', () => {
      expect(() => setup({ durationMs: 10 * MINUTE, renewIntervalMs: 10 * MINUTE })).toThrow(
        'Invalid renewIntervalMs: got 600000; expected a whole number of milliseconds from 0 to below the duration (600000).',
      );
    });

    it('refuses a duration that is not a positive whole number of milliseconds', () => {
      expect(() => setup({ durationMs: 0 })).toThrow(
        'Invalid durationMs: got 0; expected a positive whole number of milliseconds.',
      );
    });
  });

  describe('Method: renew', () => {
    it('extends the lease of its holder and keeps the token', async () => {
      // Prepare
      const { store, service } = setup();
      const { token } = await service.acquire('backfill', BACKFILL, T0);

      // Act
      const renewed = await service.renew(BACKFILL, token, T0 + 14 * MINUTE);

      // Assess
      expect(renewed).toEqual({
        holder: BACKFILL,
        kind: 'backfill',
        token,
        expiresAt: T0 + 29 * MINUTE,
        acquiredAt: T0,
      });
      expect(store.current).toEqual(renewed);
    });

    it('writes nothing when renewed within the renew interval', async () => {
      // Prepare
      const { service, store } = setup();
      const first = await service.acquire('backfill', BACKFILL, T0);
      const writes = store.writes;

      // Act
      const renewed = await service.renew(BACKFILL, first.token, T0 + 30_000);

      // Assess
      expect(renewed.expiresAt).toBe(first.expiresAt);
      expect(store.writes).toBe(writes);
    });

    it('never shortens the lease when renewed with an earlier clock', async () => {
      // Prepare
      const { service } = setup();
      const { token } = await service.acquire('backfill', BACKFILL, T0);

      // Act
      const renewed = await service.renew(BACKFILL, token, T0 - MINUTE);

      // Assess
      expect(renewed.expiresAt).toBe(T0 + 15 * MINUTE);
    });

    it('fails with LeaseLostError after another execution took the lease over', async () => {
      // Prepare
      const { store, service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);
      await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE);

      // Act
      const attempt = service.renew(DAILY, token, T0 + 16 * MINUTE);

      // Assess
      await expect(attempt).rejects.toThrow(LeaseLostError);
      await expect(attempt).rejects.toMatchObject({
        executionId: DAILY,
        token: 1,
        currentHolder: BACKFILL,
        currentToken: 2,
        message:
          `Execution ${DAILY} no longer holds the lease with token 1: it is now held by ${BACKFILL} with token 2. ` +
          'Stop this execution; anything it still commits is refused by the fencing token.',
      });
      expect(store.current).toMatchObject({ holder: BACKFILL, token: 2 });
    });

    it('fails with LeaseLostError after the lease was released', async () => {
      // Prepare
      const { service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);
      await service.release(DAILY, token);

      // Act & Assess
      await expect(service.renew(DAILY, token, T0 + MINUTE)).rejects.toMatchObject({
        name: 'LeaseLostError',
        currentHolder: null,
        currentToken: 1,
      });
    });

    it('fails with LeaseLostError when no lease exists', async () => {
      const { service } = setup();
      await expect(service.renew(DAILY, 1, T0)).rejects.toThrow(
        `Execution ${DAILY} no longer holds the lease with token 1: no lease exists.`,
      );
    });

    it('fails with LeaseLostError when a release lands between its read and its write', async () => {
      // Prepare
      const { store, service } = setup();
      const { token } = await service.acquire('backfill', BACKFILL, T0);
      store.beforeNextWrite((s) => s.overwrite({ holder: null, token }));

      // Act & Assess: the renew must not resurrect the released lease
      await expect(service.renew(BACKFILL, token, T0 + MINUTE)).rejects.toThrow(LeaseLostError);
      expect(store.current).toEqual({ holder: null, token });
    });
  });

  describe('Method: keep', () => {
    it('spares the read while the same holder and token were extended less than the renew interval ago', async () => {
      // Prepare
      const { store, service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);
      await service.renew(DAILY, token, T0 + 2 * MINUTE);
      const reads = store.reads;

      // Act: two stages within the minute after the renewal, then one after it
      await service.keep(DAILY, token, T0 + 2 * MINUTE + 10_000);
      await service.keep(DAILY, token, T0 + 2 * MINUTE + 50_000);
      const readsWithin = store.reads - reads;
      await service.keep(DAILY, token, T0 + 3 * MINUTE + 1);

      // Assess: the expiry is never less than the duration less the interval away when a stage starts
      expect(readsWithin).toBe(0);
      expect(store.current).toMatchObject({
        holder: DAILY,
        token,
        expiresAt: T0 + 3 * MINUTE + 1 + 15 * MINUTE,
      });
    });

    it('counts from the last extension, not the last call: a renewal that wrote nothing buys no more time', async () => {
      // Prepare: acquired at T0, renewed 50 s later (within the interval: nothing written)
      const { store, service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);
      await service.renew(DAILY, token, T0 + 50_000);
      const reads = store.reads;

      // Act: 70 s after the acquire the extension is older than the interval
      await service.keep(DAILY, token, T0 + 70_000);

      // Assess
      expect(store.reads - reads).toBeGreaterThan(0);
      expect(store.current).toMatchObject({ expiresAt: T0 + 70_000 + 15 * MINUTE });
    });

    it('checks a token it never saw held against the store: a forged or stale one is refused', async () => {
      // Prepare
      const { service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);
      await service.renew(DAILY, token, T0 + 2 * MINUTE);

      // Act & Assess
      await expect(service.keep(DAILY, 2 ** 53 - 1, T0 + 2 * MINUTE + 1)).rejects.toThrow(LeaseLostError);
      await expect(service.keep(OTHER, token, T0 + 2 * MINUTE + 1)).rejects.toThrow(LeaseLostError);
    });
  });

  describe('Method: release', () => {
    it('clears the holder and keeps the token', async () => {
      // Prepare
      const { store, service } = setup();
      const { token } = await service.acquire('daily', DAILY, T0);

      // Act
      const result = await service.release(DAILY, token);

      // Assess
      expect(result).toEqual({ released: true, token: 1 });
      expect(store.current).toEqual({ holder: null, token: 1 });
    });

    it('releases without a token, as the rule for stopped executions does', async () => {
      const { service } = setup();
      await service.acquire('daily', DAILY, T0);
      await expect(service.release(DAILY)).resolves.toEqual({ released: true, token: 1 });
    });

    it('does nothing when another execution holds the lease', async () => {
      // Prepare
      const { store, service } = setup();
      await service.acquire('daily', DAILY, T0);
      const before = store.writes;

      // Act
      const result = await service.release(BACKFILL);

      // Assess
      expect(result).toEqual({ released: false });
      expect(store.writes).toBe(before);
      expect(store.current).toMatchObject({ holder: DAILY, token: 1 });
    });

    it('does nothing when the holder presents a token from before a takeover', async () => {
      // Prepare: DAILY held token 1, lost it to BACKFILL, then took it back with token 3
      const { store, service } = setup();
      await service.acquire('daily', DAILY, T0);
      await service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE);
      await service.acquire('daily', DAILY, T0 + 30 * MINUTE);

      // Act
      const result = await service.release(DAILY, 1);

      // Assess
      expect(result).toEqual({ released: false });
      expect(store.current).toMatchObject({ holder: DAILY, token: 3 });
    });

    it('does nothing when released twice or when no lease exists', async () => {
      const { service } = setup();
      await expect(service.release(DAILY)).resolves.toEqual({ released: false });
      await service.acquire('daily', DAILY, T0);
      await service.release(DAILY);
      await expect(service.release(DAILY)).resolves.toEqual({ released: false });
    });
  });
});

describe('Module: lease rules', () => {
  it('imports no AWS SDK and reads no environment', () => {
    const source = readFileSync(join(__dirname, '../../lambdas/engine/lease.ts'), 'utf8');
    expect(source).not.toMatch(/@aws-sdk|process\.env|node:/);
  });

  it('works over any LeaseStore, not only the memory one', async () => {
    // A store that answers "absent" and accepts exactly one write is enough for a first acquire.
    let written: HeldLease | undefined;
    const store: LeaseStore = {
      read: async () => written,
      tryWrite: async (next, seen) => {
        if (seen !== undefined || next.holder === null) return false;
        written = next;
        return true;
      },
    };
    const service = new LeaseService(store, { isRunning: async () => true });
    await expect(service.acquire('daily', DAILY, T0)).resolves.toMatchObject({
      token: 1,
      expiresAt: T0 + 15 * MINUTE,
    });
  });
});

describe('Class: LeaseService (issue 15: liveness and lost responses)', () => {
  describe('Method: renewIfHeld', () => {
    it('extends the lease the execution holds, whatever its token, and writes nothing for another holder', async () => {
      // Prepare
      const { store, service } = setup();
      await service.acquire('backfill', BACKFILL, T0);

      // Act
      const renewed = await service.renewIfHeld(BACKFILL, T0 + 10 * MINUTE);
      const writes = store.writes;
      const other = await service.renewIfHeld(DAILY, T0 + 11 * MINUTE);

      // Assess
      expect(renewed).toMatchObject({ holder: BACKFILL, token: 1, expiresAt: T0 + 25 * MINUTE });
      expect(other).toBeUndefined();
      expect(store.writes).toBe(writes);
    });
  });

  describe('Method: releaseEnded', () => {
    it('keeps the lease of an execution that runs again, and releases it once it has ended', async () => {
      // Prepare
      const { store, service, liveness } = setup();
      await service.acquire('backfill', BACKFILL, T0);

      // Act
      const running = await service.releaseEnded(BACKFILL);
      liveness.stopped.add(BACKFILL);
      const ended = await service.releaseEnded(BACKFILL);

      // Assess
      expect(running).toEqual({ released: false, holderRunning: true });
      expect(ended).toEqual({ released: true, token: 1 });
      expect(store.current).toEqual({ holder: null, token: 1 });
    });

    it('does nothing for an execution that holds no lease, without asking whether it runs', async () => {
      const { service, liveness } = setup();
      await service.acquire('daily', DAILY, T0);
      await expect(service.releaseEnded(BACKFILL)).resolves.toEqual({ released: false });
      expect(liveness.asked).toEqual([]);
    });
  });

  describe('Lost write responses', () => {
    /** A store whose next write lands but answers false, as a lost response retried by the SDK does. */
    function losingNextWrite(store: MemoryLeaseStore): LeaseStore {
      let lose = true;
      return {
        read: () => store.read(),
        tryWrite: async (next, seen) => {
          const written = await store.tryWrite(next, seen);
          if (written && lose) {
            lose = false;
            return false;
          }
          return written;
        },
      };
    }

    it('reports a takeover whose answer was lost as the takeover it was', async () => {
      const store = new MemoryLeaseStore();
      await new LeaseService(store, new FakeLiveness()).acquire('daily', DAILY, T0);
      const service = new LeaseService(losingNextWrite(store), new FakeLiveness());
      await expect(service.acquire('backfill', BACKFILL, T0 + 15 * MINUTE)).resolves.toMatchObject({
        token: 2,
        outcome: 'took-over',
        displaced: { holder: DAILY, token: 1, reason: 'expired' },
      });
    });

    it('reports a release whose answer was lost as released, with its token', async () => {
      const store = new MemoryLeaseStore();
      await new LeaseService(store, new FakeLiveness()).acquire('daily', DAILY, T0);
      const service = new LeaseService(losingNextWrite(store), new FakeLiveness());
      await expect(service.release(DAILY)).resolves.toEqual({ released: true, token: 1 });
      await expect(service.freeToken()).resolves.toBe(1);
    });

    it('returns the renewed lease when the renewal’s answer was lost', async () => {
      const store = new MemoryLeaseStore();
      await new LeaseService(store, new FakeLiveness()).acquire('daily', DAILY, T0);
      const service = new LeaseService(losingNextWrite(store), new FakeLiveness());
      await expect(service.renew(DAILY, 1, T0 + 5 * MINUTE)).resolves.toMatchObject({
        expiresAt: T0 + 20 * MINUTE,
      });
    });
  });
});
