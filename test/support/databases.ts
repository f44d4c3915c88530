import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { PgliteSqlClient } from '../../lambdas/adapters/pglite-sql';
import { PostgresSqlClient } from '../../lambdas/adapters/postgres-sql';
import type { SqlClient } from '../../lambdas/engine/sql';
import { loadMigrations, MIGRATION_SEQUENCES, migrate } from '../../lambdas/ledger/migrator';
import { METERS } from './fixture-pipelines';
import { publicTables } from './state-checksum';

/** A kind of database the suites run against: embedded PGlite and, where available, a real server. */
export interface TestDatabaseKind {
  readonly name: 'pglite' | 'postgres';
  /**
   * A new, empty database: unless `migrated` is false, with Hindsight's migrations and those of
   * `migrations` (a pipeline's directory; the meters fixture's by default).
   */
  open(options?: OpenOptions): Promise<SqlClient>;
}

export interface OpenOptions {
  readonly migrated?: boolean;
  readonly migrations?: string;
}

const pglite: TestDatabaseKind = {
  name: 'pglite',
  open: async ({ migrated = true, migrations = METERS.migrationsDirectory } = {}) => {
    const sql = await PgliteSqlClient.open(undefined);
    if (migrated) await migrate(sql, loadMigrations(migrations));
    return sql;
  },
};

function postgres(serverUrl: string): TestDatabaseKind {
  return {
    name: 'postgres',
    open: async ({ migrated = true, migrations = METERS.migrationsDirectory } = {}) => {
      const name = `hindsight_test_${randomBytes(6).toString('hex')}`;
      const admin = new Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const sql = new PostgresSqlClient(url.toString());
      if (migrated) await migrate(sql, loadMigrations(migrations));
      return sql;
    },
  };
}

/** PGlite always; the real server when the global setup found or started one. */
export function databaseKinds(): TestDatabaseKind[] {
  const url = process.env.TEST_DATABASE_URL;
  return url ? [pglite, postgres(url)] : [pglite];
}

/** Every row of `tables`, in a stable order, for "identical contents" assertions. */
export async function dumpTables(
  sql: SqlClient,
  tables: readonly string[],
): Promise<Record<string, unknown[]>> {
  const dump: Record<string, unknown[]> = {};
  for (const table of tables) {
    const { rows } = await sql.query(`SELECT * FROM ${table}`);
    dump[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return dump;
}

/**
 * Empties every table but the migration record and resets the fence, so one migrated database
 * serves a whole file (opening PGlite costs seconds; truncating costs milliseconds).
 */
export async function resetDatabase(sql: SqlClient): Promise<void> {
  const records: string[] = Object.values(MIGRATION_SEQUENCES).map((sequence) => sequence.table);
  const tables = (await publicTables(sql)).filter((table) => !records.includes(table));
  await sql.transaction(async (tx) => {
    await tx.query(`TRUNCATE ${tables.join(', ')}`);
    await tx.query('INSERT INTO hindsight_fence (id, token) VALUES (1, 0)');
  });
}
