/**
 * Migrators running at the same time on one real PostgreSQL server (two deploys, two laptops with
 * one DATABASE_URL): every one of them must end with the database migrated exactly once, or refuse
 * when what was applied meanwhile is not what it would apply. Skipped without a server
 * (test/support/global-setup.ts starts one where PostgreSQL is installed).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PostgresSqlClient } from '../../lambdas/adapters/postgres-sql';
import { MigrationChangedError } from '../../lambdas/engine/errors';
import type { SqlClient, SqlExecutor, SqlRow, SqlValue } from '../../lambdas/engine/sql';
import {
  frameworkMigrationsDirectory,
  loadMigrations,
  MIGRATION_SEQUENCES,
  type MigrationReport,
  migrate,
  toMigration,
} from '../../lambdas/ledger/migrator';
import { METERS } from '../support/fixture-pipelines';

const SERVER = process.env.TEST_DATABASE_URL;
const ROUNDS = 3;
const MIGRATORS = 3;

const created: string[] = [];

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: SERVER });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the test server: its URL. */
async function freshDatabase(): Promise<string> {
  const name = `hindsight_migrators_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(SERVER ?? '');
  url.pathname = `/${name}`;
  return url.toString();
}

afterAll(async () => {
  if (SERVER === undefined) return;
  await admin(async (client) => {
    for (const name of created) await client.query(`DROP DATABASE IF EXISTS ${name}`);
  });
});

/**
 * A client that, before its transaction takes the migrations' advisory lock for the `nth` time,
 * waits for `before` to finish: another migrator runs in full at that point of this one.
 */
function pausingBeforeLock(sql: SqlClient, nth: number, before: () => Promise<unknown>): SqlClient {
  let locks = 0;
  const pausing = (tx: SqlExecutor): SqlExecutor => ({
    query: async <Row extends SqlRow = SqlRow>(text: string, params?: readonly SqlValue[]) => {
      if (/pg_advisory_xact_lock/.test(text) && ++locks === nth) await before();
      return tx.query<Row>(text, params);
    },
  });
  return {
    kind: sql.kind,
    query: (text, params) => sql.query(text, params),
    transaction: (work) => sql.transaction((tx) => work(pausing(tx))),
    close: () => sql.close(),
  };
}

async function recorded(sql: SqlClient, table: string): Promise<Array<{ id: string; checksum: string }>> {
  const { rows } = await sql.query<{ id: string; checksum: string }>(
    `SELECT id, checksum FROM ${table} ORDER BY id`,
  );
  return rows;
}

(SERVER ? describe : describe.skip)('Function: migrate, several at once on a fresh PostgreSQL', () => {
  it(`migrates once with ${MIGRATORS} first migrations at the same time, every one of them succeeding (${ROUNDS} fresh databases)`, async () => {
    const framework = loadMigrations(frameworkMigrationsDirectory());
    const pipeline = loadMigrations(METERS.migrationsDirectory);
    const outcomes: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const url = await freshDatabase();
      const clients = Array.from({ length: MIGRATORS }, () => new PostgresSqlClient(url));
      try {
        const settled = await Promise.allSettled(clients.map((sql) => migrate(sql, pipeline)));
        const failures = settled.flatMap((result) =>
          result.status === 'rejected' ? [String((result.reason as Error).message)] : [],
        );
        outcomes.push(`round ${round}: ${MIGRATORS - failures.length} of ${MIGRATORS} succeeded`);
        expect(failures).toEqual([]);
        const reports = settled.map((result) => (result as PromiseFulfilledResult<MigrationReport>).value);
        // Each migration was applied by exactly one of them; the others found it applied.
        const applied = reports.flatMap((report) => report.applied).sort();
        expect(applied).toEqual(
          [...framework.map((migration) => `hindsight/${migration.id}`), ...pipeline.map((m) => m.id)].sort(),
        );
        for (const report of reports) {
          expect(report.applied.length + report.alreadyApplied).toBe(framework.length + pipeline.length);
        }
        expect(await recorded(clients[0], MIGRATION_SEQUENCES.framework.table)).toEqual(
          framework.map(({ id, checksum }) => ({ id, checksum })),
        );
        expect(await recorded(clients[0], MIGRATION_SEQUENCES.pipeline.table)).toEqual(
          pipeline.map(({ id, checksum }) => ({ id, checksum })),
        );
      } finally {
        for (const sql of clients) await sql.close();
      }
    }
    console.log(`concurrent first migrations:\n  ${outcomes.join('\n  ')}`);
  });

  it('refuses, under the lock, a migration another migrator applied meanwhile with different content', async () => {
    const url = await freshDatabase();
    const ours = [toMigration('0001_readings', 'CREATE TABLE readings (meter TEXT, kwh NUMERIC);')];
    const theirs = [toMigration('0001_readings', 'CREATE TABLE readings (meter TEXT);')];
    const other = new PostgresSqlClient(url);
    // Ours has read what is applied (nothing) and waits for the lock; theirs runs in full meanwhile.
    const sql = pausingBeforeLock(new PostgresSqlClient(url), 2, () => migrate(other, theirs, []));
    try {
      const refused = migrate(sql, ours, []);

      await expect(refused).rejects.toThrow(MigrationChangedError);
      await expect(refused).rejects.toThrow(
        /^Migration 0001_readings changed after it was applied \(recorded sha256 [0-9a-f]{12}…, file now [0-9a-f]{12}…\)/,
      );
      expect(await recorded(sql, MIGRATION_SEQUENCES.pipeline.table)).toEqual([
        { id: '0001_readings', checksum: theirs[0].checksum },
      ]);
      const { rows } = await sql.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'readings' ORDER BY column_name",
      );
      expect(rows).toEqual([{ column_name: 'meter' }]);
    } finally {
      await sql.close();
      await other.close();
    }
  });
});
