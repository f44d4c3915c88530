import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { DynamoDbLeaseStore } from '../../lambdas/adapters/dynamodb-lease-store';
import { LeaseContendedError, LeaseHeldError, LeaseLostError } from '../../lambdas/engine/errors';
import { type LeaseRecord, LeaseService, type LeaseStore } from '../../lambdas/engine/lease';
import type { LeaseKind } from '../../lambdas/workflow/contracts';
import { ensureLeaseTable, type LocalDynamo, startDynalite } from '../../local/dynalite-server';
import { type LossyDynamoClient, lossyDynamoClient } from '../support/lossy-dynamodb';

/**
 * Randomized schedules of 3–6 clients acting at once on one lease item in a real dynalite server,
 * with a shared fake clock, checking the lease's safety after every step. Some PutItem responses
 * are lost after the write landed (an SDK middleware throws a retryable error in their place, so
 * the SDK resends the same conditional write, which then fails its condition), and late
 * status-change events ask to release the lease of a client that may still run (a redrive).
 * Set LEASE_SEED to replay.
 */

const TABLE = 'hindsight-lease-concurrency';
const DURATION_MS = 1_000;
const SCHEDULES = 500;
const SEED = Number(process.env.LEASE_SEED ?? Date.now() % 2_147_483_647);

type Op =
  | { readonly type: 'acquire'; readonly kind: LeaseKind }
  | { readonly type: 'renew' }
  | { readonly type: 'release'; readonly withToken: boolean }
  /** The client stops; with `ruleFires`, the status-change rule then asks to release its lease. */
  | { readonly type: 'crash'; readonly ruleFires: boolean }
  | { readonly type: 'advance'; readonly ms: number }
  /** The status-change rule's release for client `about` (which may still run): a late event. */
  | { readonly type: 'status-event'; readonly about: number };

interface Schedule {
  /** Each client's steps, in order; the clients run at the same time. */
  readonly clients: readonly (readonly { readonly op: Op; readonly yields: number }[])[];
  /** Whether the liveness port reports crashed clients as stopped (else only expiry frees a lease). */
  readonly truthfulLiveness: boolean;
  /** Which of the schedule's PutItem calls (0-based, in the order they reach dynalite) lose their response. */
  readonly lostResponses: readonly number[];
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom<LeaseKind>('daily', 'backfill')
      .map((kind) => ({ type: 'acquire', kind }) as const),
  },
  { weight: 3, arbitrary: fc.constant({ type: 'renew' } as const) },
  { weight: 2, arbitrary: fc.boolean().map((withToken) => ({ type: 'release', withToken }) as const) },
  { weight: 1, arbitrary: fc.boolean().map((ruleFires) => ({ type: 'crash', ruleFires }) as const) },
  { weight: 1, arbitrary: fc.nat(5).map((about) => ({ type: 'status-event', about }) as const) },
  {
    weight: 2,
    // Biased to land exactly on, or just before, an expiry.
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 1_500 }), fc.constantFrom(1, DURATION_MS - 1, DURATION_MS))
      .map((ms) => ({ type: 'advance', ms }) as const),
  },
);

const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  clients: fc.array(fc.array(fc.record({ op: opArb, yields: fc.nat(3) }), { minLength: 2, maxLength: 8 }), {
    minLength: 3,
    maxLength: 6,
  }),
  truthfulLiveness: fc.boolean(),
  lostResponses: fc.uniqueArray(fc.nat(20), { maxLength: 3 }),
});

interface Tally {
  schedules: number;
  operations: number;
  checks: number;
  acquired: number;
  reentered: number;
  tookOverExpired: number;
  tookOverStopped: number;
  refused: number;
  renewed: number;
  lost: number;
  released: number;
  releaseNoop: number;
  contended: number;
  lostRaces: number;
  crashes: number;
  crashedLeasesTakenOver: number;
  lostResponses: number;
  statusEvents: number;
  statusReleases: number;
  statusKeptRunning: number;
}

function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`Invariant broken: ${message}`);
}

describe('Lease under concurrent clients (dynalite)', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  let lossy: LossyDynamoClient;

  beforeAll(async () => {
    dynamo = await startDynalite(undefined);
    await ensureLeaseTable(dynamo.client, TABLE);
    lossy = lossyDynamoClient(dynamo.endpoint);
    client = lossy.client;
  });

  afterAll(async () => {
    lossy?.client.destroy();
    await dynamo.close();
  });

  it('keeps at most one live holder, monotonic tokens and every release, frees crashed leases, and survives lost responses and late status events', async () => {
    const tally: Tally = {
      schedules: 0,
      operations: 0,
      checks: 0,
      acquired: 0,
      reentered: 0,
      tookOverExpired: 0,
      tookOverStopped: 0,
      refused: 0,
      renewed: 0,
      lost: 0,
      released: 0,
      releaseNoop: 0,
      contended: 0,
      lostRaces: 0,
      crashes: 0,
      crashedLeasesTakenOver: 0,
      lostResponses: 0,
      statusEvents: 0,
      statusReleases: 0,
      statusKeptRunning: 0,
    };
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(scheduleArb, (schedule) =>
        runSchedule(schedule, `schedule-${tally.schedules++}`, tally),
      ),
      { numRuns: SCHEDULES, seed: SEED },
    );

    tally.lostResponses = lossy.lost;
    console.log(
      `lease concurrency: ${tally.schedules} schedules, ${tally.operations} operations, ${tally.checks} invariant checks, ` +
        `${tally.lostResponses} lost PutItem responses, ${tally.statusEvents} late status events ` +
        `in ${Date.now() - started} ms (seed ${SEED})\n${JSON.stringify(tally)}`,
    );
    expect(tally.schedules).toBe(SCHEDULES);
    expect(tally.tookOverExpired).toBeGreaterThan(0);
    expect(tally.tookOverStopped).toBeGreaterThan(0);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.crashedLeasesTakenOver).toBeGreaterThan(0);
    expect(tally.lostRaces).toBeGreaterThan(0);
    expect(tally.lostResponses).toBeGreaterThan(0);
    expect(tally.statusReleases).toBeGreaterThan(0);
    expect(tally.statusKeptRunning).toBeGreaterThan(0);
  });

  async function runSchedule(schedule: Schedule, key: string, tally: Tally): Promise<void> {
    const clock = { now: Date.parse('2026-03-01T02:00:00Z') };
    const crashed = new Set<string>();
    const ids = schedule.clients.map((_, i) => `${key}/client-${i}`);
    lossy.losePuts(schedule.lostResponses);
    const dynamo = new DynamoDbLeaseStore({ client, tableName: TABLE, key });
    const store: LeaseStore = {
      read: () => dynamo.read(),
      tryWrite: async (next, seen) => {
        const written = await dynamo.tryWrite(next, seen);
        if (!written) tally.lostRaces++;
        return written;
      },
    };
    const liveness = { isRunning: async (id: string) => !(schedule.truthfulLiveness && crashed.has(id)) };
    const service = new LeaseService(store, liveness, { durationMs: DURATION_MS });

    /** What each client believes it holds; a crashed client believes nothing. */
    const beliefs = new Map<string, { token: number; expiresAt: number }>();
    /** Who obtained each token as a new owner: a token is never handed to two clients. */
    const minted = new Map<number, string>();
    let highestCompletedToken = 0;

    /**
     * Reads the record and checks what must hold at any instant. A client's belief counts only if it
     * was formed before the read began and is unchanged after it (so its write is visible to the read),
     * and is live on the clock after the read (any takeover's `now` is at most that).
     */
    const check = async (): Promise<LeaseRecord | undefined> => {
      tally.checks++;
      const floor = highestCompletedToken;
      const before = new Map(beliefs);
      const record = await store.read();
      const now = clock.now;
      const token = record?.token ?? 0;
      invariant(token >= floor, `stored token went down from ${floor} to ${token}`);
      highestCompletedToken = Math.max(highestCompletedToken, token);
      const live = [...before].filter(([id, b]) => beliefs.get(id) === b && now < b.expiresAt);
      invariant(
        live.filter(([, b]) => b.token === token).length <= 1,
        `two clients hold a live lease with token ${token}`,
      );
      for (const [id, b] of live) {
        invariant(
          record?.holder === id && record.token === b.token,
          `running ${id} believes it holds token ${b.token} until ${b.expiresAt} (now ${now}), ` +
            `but the lease is ${JSON.stringify(record)}`,
        );
      }
      return record;
    };

    /**
     * The status-change rule's release for `about`, as a late event may bring it at any time: the
     * lease of a client that still runs (a redrive, here: did not crash) must stay.
     */
    const statusEvent = async (about: string): Promise<void> => {
      tally.statusEvents++;
      const aboutBelief = beliefs.get(about);
      // A crash is for good: running after the call means running throughout it.
      const ranBefore = await liveness.isRunning(about);
      const result = await service.releaseEnded(about);
      const runs = await liveness.isRunning(about);
      const record = await check();
      if (result.released) {
        tally.statusReleases++;
        invariant(!runs, `a status event released the lease of running ${about}`);
        invariant(
          (record?.holder === null && record.token === result.token) || (record?.token ?? 0) > result.token,
          `the status event's release of token ${result.token} was lost: ${JSON.stringify(record)}`,
        );
      } else if (result.holderRunning) {
        tally.statusKeptRunning++;
        invariant(ranBefore, `a status event kept the lease of ${about}, which had ended before it`);
      }
      if (aboutBelief && runs) invariant(!result.released, `${about} lost its lease to a late status event`);
    };

    const act = async (id: string, steps: Schedule['clients'][number]): Promise<void> => {
      let lastToken = 0;
      for (const { op, yields } of steps) {
        for (let i = 0; i < yields; i++) await new Promise((resolve) => setImmediate(resolve));
        tally.operations++;
        const belief = beliefs.get(id);
        switch (op.type) {
          case 'acquire': {
            const now = clock.now;
            try {
              const lease = await service.acquire(op.kind, id, now);
              if (lease.outcome === 'reentered') {
                tally.reentered++;
                invariant(
                  minted.get(lease.token) === id,
                  `${id} re-entered token ${lease.token} it never obtained`,
                );
              } else {
                invariant(
                  !minted.has(lease.token),
                  `token ${lease.token} handed to ${minted.get(lease.token)} and ${id}`,
                );
                minted.set(lease.token, id);
                if (lease.outcome === 'acquired') tally.acquired++;
                else if (lease.displaced?.reason === 'expired') tally.tookOverExpired++;
                else tally.tookOverStopped++;
                if (lease.displaced && crashed.has(lease.displaced.holder)) tally.crashedLeasesTakenOver++;
              }
              lastToken = lease.token;
              beliefs.set(id, { token: lease.token, expiresAt: lease.expiresAt });
            } catch (error) {
              if (error instanceof LeaseContendedError) {
                tally.contended++;
                break;
              }
              if (!(error instanceof LeaseHeldError)) throw error;
              tally.refused++;
              invariant(error.holder !== id, `${id} was refused its own lease`);
              invariant(
                now < error.expiresAt,
                `refused at ${now} a lease that expired at ${error.expiresAt}`,
              );
              beliefs.delete(id);
            }
            break;
          }
          case 'renew': {
            try {
              const lease = await service.renew(id, lastToken, clock.now);
              tally.renewed++;
              invariant(
                belief?.token === lease.token,
                `${id} renewed token ${lease.token} it did not believe it held`,
              );
              beliefs.set(id, { token: lease.token, expiresAt: lease.expiresAt });
            } catch (error) {
              if (error instanceof LeaseContendedError) {
                tally.contended++;
                break;
              }
              if (!(error instanceof LeaseLostError)) throw error;
              tally.lost++;
              beliefs.delete(id);
              if (belief) {
                const record = await check();
                invariant(
                  (record?.token ?? 0) > belief.token,
                  `${id} lost token ${belief.token} without a takeover`,
                );
              }
            }
            break;
          }
          case 'release': {
            beliefs.delete(id); // a releasing client stops relying on the lease before asking
            const result = await service.release(id, op.withToken ? lastToken : undefined);
            const record = await check();
            if (result.released) {
              tally.released++;
              invariant(
                belief?.token === result.token,
                `${id} released token ${result.token} it did not believe it held`,
              );
              invariant(
                (record?.holder === null && record.token === result.token) ||
                  (record?.token ?? 0) > result.token,
                `release of token ${result.token} by ${id} was lost: ${JSON.stringify(record)}`,
              );
            } else {
              tally.releaseNoop++;
              if (belief) {
                invariant(
                  (record?.token ?? 0) > belief.token,
                  `${id} could not release token ${belief.token} it held`,
                );
              }
            }
            break;
          }
          case 'crash':
            tally.crashes++;
            crashed.add(id);
            beliefs.delete(id);
            if (op.ruleFires) await statusEvent(id);
            return;
          case 'advance':
            clock.now += op.ms;
            break;
          case 'status-event':
            await statusEvent(ids[op.about % ids.length] ?? id);
            break;
        }
        await check();
      }
    };

    await Promise.all(schedule.clients.map((steps, i) => act(`${key}/client-${i}`, steps)));

    // Whoever still holds the lease (a crashed client, or one that stopped without releasing) is
    // taken over once its lease expired, whatever liveness says.
    const record = await check();
    if (record?.holder) clock.now = Math.max(clock.now, record.expiresAt);
    const sweeper = new LeaseService(store, { isRunning: async () => true }, { durationMs: DURATION_MS });
    const swept = await sweeper.acquire('backfill', `${key}/sweeper`, clock.now);
    invariant(
      swept.token === (record?.token ?? 0) + 1,
      `sweeper got token ${swept.token} after ${record?.token}`,
    );
    invariant(
      swept.outcome === (record?.holder ? 'took-over' : 'acquired'),
      `sweeper ${swept.outcome} over ${JSON.stringify(record)}`,
    );
    if (record?.holder && crashed.has(record.holder)) tally.crashedLeasesTakenOver++;
  }
});
