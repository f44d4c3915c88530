/**
 * The lease kept in PostgreSQL (the local runtime with `--database-url`): the same conditional
 * writes as the DynamoDB item, on PGlite and on a real server; and on the real server, one winner
 * among clients that create the table and race for a fresh lease at the same time.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresSqlClient } from '../../lambdas/adapters/postgres-sql';
import { SQL_LEASE_TABLE, SqlLeaseStore } from '../../lambdas/adapters/sql-lease-store';
import { HindsightError, LeaseHeldError } from '../../lambdas/engine/errors';
import { type HeldLease, LeaseService } from '../../lambdas/engine/lease';
import type { SqlClient } from '../../lambdas/engine/sql';
import { databaseKinds } from '../support/databases';

const MINUTE = 60_000;
const T0 = Date.parse('2026-03-01T02:00:00Z');
const DAILY = 'arn:aws:states:eu-west-1:123456789012:execution:Daily:2026-03-01';
const BACKFILL = 'arn:aws:states:eu-west-1:123456789012:execution:Backfill:after-deploy';
const HELD: HeldLease = { holder: DAILY, kind: 'daily', token: 1, expiresAt: T0 + MINUTE, acquiredAt: T0 };

describe.each(databaseKinds())('Class: SqlLeaseStore on $name', (kind) => {
  let sql: SqlClient;

  beforeAll(async () => {
    sql = await kind.open({ migrated: false });
  });

  afterAll(() => sql.close());

  /** An empty lease table. */
  async function freshStore(owner?: string): Promise<SqlLeaseStore> {
    const store = await SqlLeaseStore.open(sql, owner === undefined ? {} : { owner });
    await sql.query(`DELETE FROM ${SQL_LEASE_TABLE}`);
    return store;
  }

  it('answers undefined before any lease was taken, and writes the first record only when none exists', async () => {
    const store = await freshStore();
    await expect(store.read()).resolves.toBeUndefined();

    expect(await store.tryWrite(HELD, undefined)).toBe(true);
    expect(await store.tryWrite({ ...HELD, holder: BACKFILL }, undefined)).toBe(false);
    expect(await store.read()).toEqual(HELD);
  });

  it('replaces the record only while it is still the version the caller read (token, holder, expiry)', async () => {
    const store = await freshStore();
    await store.tryWrite(HELD, undefined);
    const renewed = { ...HELD, expiresAt: T0 + 2 * MINUTE };

    expect(await store.tryWrite(renewed, { ...HELD, expiresAt: T0 + 5 })).toBe(false);
    expect(await store.tryWrite(renewed, { ...HELD, token: 2 })).toBe(false);
    expect(await store.tryWrite(renewed, { ...HELD, holder: BACKFILL })).toBe(false);
    expect(await store.tryWrite(renewed, { holder: null, token: 1 })).toBe(false);
    expect(await store.tryWrite(renewed, HELD)).toBe(true);
    expect(await store.tryWrite({ holder: null, token: 1 }, renewed)).toBe(true);
    expect(await store.read()).toEqual({ holder: null, token: 1 });
    expect(await store.tryWrite({ ...HELD, token: 2 }, { holder: null, token: 0 })).toBe(false);
    expect(await store.tryWrite({ ...HELD, token: 2 }, { holder: null, token: 1 })).toBe(true);
  });

  it('records its owner with a held lease, for the liveness of another process, and forgets it on release', async () => {
    const store = await freshStore('4242');
    await store.tryWrite(HELD, undefined);

    expect(await store.ownerOf(DAILY)).toBe('4242');
    expect(await store.ownerOf(BACKFILL)).toBeUndefined();
    await store.tryWrite({ holder: null, token: 1 }, HELD);
    expect(await store.ownerOf(DAILY)).toBeUndefined();
  });

  it('fails naming the table when the stored row is malformed', async () => {
    const store = await freshStore();
    await sql.query(
      `INSERT INTO ${SQL_LEASE_TABLE} (id, token, holder, kind, expires_at, acquired_at) VALUES (1, 3, $1, 'weekly', 1, 1)`,
      [DAILY],
    );

    await expect(store.read()).rejects.toThrow(HindsightError);
    await expect(store.read()).rejects.toThrow(`The lease row in ${SQL_LEASE_TABLE} is malformed`);
  });
});

(process.env.TEST_DATABASE_URL ? describe : describe.skip)(
  'Class: SqlLeaseStore, processes racing on one server',
  () => {
    it('grants a fresh lease to exactly one of 8 clients acquiring at once, each on its own connections', async () => {
      const name = `hindsight_lease_${randomBytes(6).toString('hex')}`;
      const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(process.env.TEST_DATABASE_URL ?? '');
      url.pathname = `/${name}`;
      const clients = Array.from({ length: 8 }, () => new PostgresSqlClient(url.toString()));
      try {
        // Each opens the store (creating the table, all at once) and acquires.
        const settled = await Promise.allSettled(
          clients.map(async (sql, index) => {
            const leases = new LeaseService(await SqlLeaseStore.open(sql), { isRunning: async () => true });
            return leases.acquire('backfill', `${BACKFILL}-${index}`, T0);
          }),
        );

        const granted = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        const refused = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
        expect(granted).toHaveLength(1);
        expect(granted[0]).toMatchObject({ outcome: 'acquired', token: 1 });
        expect(refused).toHaveLength(7);
        for (const reason of refused) expect(reason).toBeInstanceOf(LeaseHeldError);
      } finally {
        for (const sql of clients) await sql.close();
        await admin.query(`DROP DATABASE IF EXISTS ${name}`);
        await admin.end();
      }
    });
  },
);
